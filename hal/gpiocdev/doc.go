// Package gpiocdev drives a board's GPIO lines through the Linux GPIO
// character device (/dev/gpiochipN) with github.com/warthog618/go-gpiocdev:
// the message lamp and per-account LEDs as outputs with timed patterns, the
// hook switch (or a push button) as a debounced input, and an Ag1171-style
// SLIC's control lines (RM, F/R, PD outputs; SHK input) with ringing done by
// toggling F/R at 20 or 25 Hz while RM is high.
//
// Lines are found by their kernel name (gpiocdev.FindLine, e.g. "GPIO22"),
// falling back to the board's chip+offset; no chip number is ever assumed
// (the Raspberry Pi 5 renumbered its chips). Every line is requested with the
// consumer label "mwi-agent", so `gpioinfo` shows who holds it. Closing the
// devices releases every line, after putting the lamp and LEDs dark, ringing
// and the HV relay off and the line in forward polarity.
//
// The pattern timing, debouncing and ringing logic is plain Go over a tiny
// pin interface and an injected hal/clock Clock, so it is unit-tested on any OS; only
// line acquisition needs Linux (devices_linux.go). On other systems Open
// returns an error saying so. The whole backend is also tested against a
// real kernel's GPIO character device (gpio-sim) under qemu by
// scripts/integration/gpio-vm.sh; see docs/gpio.md.
package gpiocdev
