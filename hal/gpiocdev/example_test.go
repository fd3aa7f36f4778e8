package gpiocdev_test

import (
	"fmt"
	"time"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/gpiocdev"
)

// Open a board's GPIO lines, blink the lamp, and watch the hook switch.
// On a machine without the board's lines Open fails with one clear line,
// e.g. `hal: GPIO line "GPIO22" not found on any chip (...)`.
func Example() {
	b, _ := boards.Lookup("devboard-leds")
	d, err := gpiocdev.Open(b, gpiocdev.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close() // lamp dark, every line released
	_ = d.Lamp.SetPattern(hal.Blink("waiting", 500*time.Millisecond, 500*time.Millisecond))
	for ev := range d.Hook.Events() {
		fmt.Println("off-hook:", ev.OffHook)
	}
}
