package clock_test

import (
	"fmt"
	"time"

	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// A component takes a Clock (nil = wall clock); a test steps a Fake.
func Example() {
	c := clock.NewFake(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	var blink func()
	var stop func() bool
	blink = func() {
		fmt.Println("blink at", c.Now().Format("15:04:05"))
		stop = c.AfterFunc(time.Second, blink)
	}
	stop = c.AfterFunc(time.Second, blink)
	c.Advance(3 * time.Second)
	stop()
	c.Advance(time.Hour)
	// Output:
	// blink at 12:00:01
	// blink at 12:00:02
	// blink at 12:00:03
}
