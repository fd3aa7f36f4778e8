package hd44780_test

import (
	"context"
	"fmt"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/mwi-agent/mwi-agent/display"
	"github.com/mwi-agent/mwi-agent/hal/hd44780"
)

// On hardware the bus comes from i2creg.Open("1") (or use Open with a
// board's display definition); here a recorder stands in for it.
func Example() {
	bus := &i2ctest.Record{}
	d, err := hd44780.New(bus, hd44780.Options{Cols: 20, Rows: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	if err := d.Show(display.RenderText(display.Demo(4), 20, 4)); err != nil {
		fmt.Println(err)
	}
	d.Flush(context.Background())
	fmt.Printf("%d transfers to %#x\n", len(bus.Ops), bus.Ops[0].Addr)
	// Output: 7 transfers to 0x27
}
