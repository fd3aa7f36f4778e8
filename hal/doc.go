// Package hal defines the small interfaces and value types through which the
// agent drives hardware: the message lamp and per-account LEDs, the display,
// the hook switch, an FXS analog line and an audio sink.
//
// It imports only the standard library. Backends live in sub-packages
// (hal/sim for the desktop simulator and tests, hardware backends beside it)
// and each one carries a compile-time guard such as
//
//	var _ hal.Lamp = (*Lamp)(nil)
//
// Every backend runs the conformance suites in hal/haltest.
package hal
