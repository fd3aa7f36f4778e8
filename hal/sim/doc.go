// Package sim is the in-memory hal backend used by the desktop demo and by
// tests. Every output (lamp and LED patterns, display frames, line changes,
// audio) is recorded in a timestamped log; the hook switch is moved by
// calling Hook.Set, which is what tests and the demo web page do.
//
// A simulated lamp has no timers: whether it is lit at a moment is its
// pattern evaluated at the time since the pattern was set (hal.Pattern.At),
// the same definition the web page uses to animate it.
package sim
