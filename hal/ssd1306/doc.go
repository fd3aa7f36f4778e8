// Package ssd1306 drives an SSD1306 OLED module (128×64 or 128×32, the
// common 0.96" and 0.91" boards) over I²C as a hal.Display, using
// periph.io/x/devices/v3/ssd1306.
//
// The module's address is configurable (0x3C, or 0x3D with the address
// jumper moved): periph's driver always talks to 0x3C, so the bus is wrapped
// to send its transfers to the configured address. Frames are converted to
// the controller's page layout in Show and handed to the display's own
// goroutine; a frame superseded before the bus got to it is dropped, and only
// the 8-pixel pages that changed since the last frame are sent.
package ssd1306
