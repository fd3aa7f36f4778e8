// Package hd44780 drives an HD44780 character LCD (16×2, 20×4 and other
// sizes) behind a PCF8574 I²C backpack as a hal.Display, with the eight
// custom CGRAM characters the display package's text layouts use, and
// backlight control.
//
// periph's hd44780 package drives the controller through separate GPIO pins
// (one bus transfer per pin change), has no CGRAM access and addresses only
// two rows, so this package is a small driver of its own over an i2c.Dev: it
// writes the backpack's 8 output bits directly, a whole run of characters in
// one I²C transfer. The backpack's wiring is the common one by default (P0
// RS, P1 RW, P2 E, P3 backlight, P4-P7 D4-D7) and configurable.
//
// Show hands the frame to the display's own goroutine; a frame superseded
// before the bus got to it is dropped, and only the characters and custom
// glyphs that changed are sent.
package hd44780
