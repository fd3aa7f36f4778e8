// Package clock is the one time source of the agent and of the hal
// backends: an interface with Now, channel timers and callback timers, the
// wall clock (Real) and one manual fake (Fake).
//
// Everything that reads the time or waits takes a Clock, so tests can run on
// a Fake (stepped by hand, callbacks run inside Advance) or on the Real clock
// inside a testing/synctest bubble (goroutines and timers on virtual time).
// A nil Clock means the wall clock; use Or to apply that default.
//
// The package uses the standard library only, so hal backends may import it.
package clock
