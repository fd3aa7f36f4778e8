// Package indicate is the indicator policy: a pure function from the
// agent's whole state (state.Snapshot) and a Policy to every output —
// the message lamp's pattern, each account LED, the display view and, per
// FXS port, whether MWI is on and whether off-hook gives stutter dial tone.
//
// Outputs are recomputed from the whole snapshot on every change and
// applied idempotently by an Applier, which writes only the outputs that
// differ from what it last wrote successfully. A missed intermediate event
// therefore cannot leave a lamp stuck.
//
// The lamp never claims "no messages" when the agent cannot know: when an
// account that drives it has no information or has gone stale, it shows
// the slow Unknown pattern (unless Policy.UnknownPattern is false).
package indicate
