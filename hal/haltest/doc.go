// Package haltest is the conformance suite every hal backend runs, modelled
// on log/slog's slogtest: a backend's test builds a device plus a way to
// observe (or move) the physical side, and the suite checks the behaviour a
// user would notice.
//
//   - TestLamp: a lamp shows off, steady and blink patterns with the right
//     cadence under a fake clock; a new pattern replaces the old one at once;
//     a closed lamp returns an error instead of blocking.
//   - TestHook: hook events arrive in order with non-decreasing timestamps,
//     OffHook reports the latest state, and closing closes the channel.
//   - TestLine, TestAudioSink, TestDisplay: the outputs reach the observer
//     and a closed device returns an error.
//   - Ag1171: the Silvertel Ag1171 SLIC datasheet (V1.6) as an executable
//     model. Fed the levels of RM, F/R, SHK, PD and an HV relay over time
//     (ModelPin for a backend under test, or an observer of real lines), it
//     reports every broken rule: PD never driven high, nothing signalled
//     while powered down, ringing only on-hook and tripped within 200 ms,
//     F/R high more than 10 ms before RM drops, RM duty cycle at most 33 %,
//     the ring frequency, a steady loop while on-hook data plays, HV only
//     on-hook. Its tests break each rule with a deliberately wrong driver.
//
// Timing contract for lamp backends: a backend takes a hal/clock Clock
// (the suites drive it with [FakeClock], hal/clock's Fake). SetPattern shows the pattern's
// first phase before it returns, and each timer callback updates the output
// before it returns, so a fake clock's Advance leaves the output settled.
//
// The observer is what makes the suite useful for real hardware: the gpio
// backend passes a function reading the line level from gpio-sim's sysfs
// value file, and a function that sets the simulated pull for the hook.
package haltest
