package hd44780

import (
	"testing"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/mwi-agent/mwi-agent/boards"
)

type closeRecord struct {
	i2ctest.Record
	closed bool
}

func (c *closeRecord) Close() error { c.closed = true; return nil }

// A board's display definition opens the named bus, talks to the board's
// address with its size, and Close releases the bus.
func TestOpenBoard(t *testing.T) {
	rec := &closeRecord{}
	const name = "mwi-test-hd44780"
	if err := i2creg.Register(name, nil, -1, func() (i2c.BusCloser, error) { return rec, nil }); err != nil {
		t.Fatal(err)
	}
	defer i2creg.Unregister(name)
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
	if !rec.closed {
		t.Error("Close did not close the bus")
	}
	if _, err := Open(boards.DisplayDef{Driver: "ssd1306", Bus: name}, nil); err == nil {
		t.Error("opened another driver's display")
	}
	if _, err := Open(boards.DisplayDef{Driver: "hd44780-pcf8574", Bus: "no-such-bus"}, nil); err == nil {
		t.Error("opened a bus that does not exist")
	}
}
