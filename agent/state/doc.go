// Package state holds the value types of the agent's state: per-account
// mailbox counts, waiting yes/no/unknown, health, and the Snapshot that the
// indicator policy, display, status API and web page read. It has no
// behaviour beyond String methods and small helpers; the agent loop in
// package agent produces snapshots.
package state
