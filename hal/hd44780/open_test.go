package hd44780

import (
	"testing"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal/internal/i2cbus/i2cbustest"
)

// A board's display definition opens the named bus, talks to the board's
// address with its size, and Close releases the bus.
func TestOpenBoard(t *testing.T) {
	const name = "mwi-test-hd44780"
	rec := i2cbustest.Register(t, name)
	d, err := Open(boards.DisplayDef{Driver: "hd44780-pcf8574", Bus: name, Address: 0x3F, Width: 20, Height: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if in := d.Info(); in.Width != 20 || in.Height != 4 {
		t.Errorf("Info() = %+v", in)
	}
	if len(rec.Ops) == 0 || rec.Ops[0].Addr != 0x3F {
		t.Errorf("init not sent to 0x3f: %v", rec.Ops)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if !rec.Closed {
		t.Error("Close did not close the bus")
	}
	if _, err := Open(boards.DisplayDef{Driver: "ssd1306", Bus: name}, nil); err == nil {
		t.Error("opened another driver's display")
	}
	if _, err := Open(boards.DisplayDef{Driver: "hd44780-pcf8574", Bus: "no-such-bus"}, nil); err == nil {
		t.Error("opened a bus that does not exist")
	}
}
