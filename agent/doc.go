// Package agent is the message-waiting agent: one event loop that owns the
// mailbox and health state of every SIP account, fed by account workers and
// SIP handlers through channels, and read through consistent snapshots.
//
// Sub-packages: state (the snapshot value types every consumer reads),
// config (YAML configuration and validation), summary (the RFC 3842
// message-summary parser), and the SIP user agent, indicator policy, FXS line
// controller and status API. The binary is agent/cmd/mwi-agent.
package agent
