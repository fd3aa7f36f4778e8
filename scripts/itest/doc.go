// Package itest is shared by the integration tests of every package; see
// itest.go. It is test support only and is never linked into the agent.
package itest
