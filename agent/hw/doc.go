// Package hw opens the devices a board describes: Open picks the backend
// named by the board (sim here; the gpio backend registers itself from its
// own file) and returns them as hal.Devices.
package hw
