// Package piconf turns a board definition (package boards) into the lines
// scripts/flash.sh appends to a Raspberry Pi's config.txt: the I2C bus a
// display needs, the audio interface an FXS port needs, and each GPIO line's
// direction and safe level from power-on (lamp and LEDs off, ring mode off,
// line polarity forward, pull-up on a button wired to ground), so nothing
// flickers or rings between power-on and the agent taking over.
//
// "mwi-agent pi-config --board NAME" prints them.
package piconf
