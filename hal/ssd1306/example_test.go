package ssd1306_test

import (
	"context"
	"fmt"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/mwi-agent/mwi-agent/display"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/ssd1306"
)

// On hardware the bus comes from i2creg.Open("1") (or use Open with a
// board's display definition); here a recorder stands in for it.
func Example() {
	bus := &i2ctest.Record{}
	d, err := ssd1306.New(bus, ssd1306.Options{Addr: ssd1306.AddrAlternate})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	info := d.Info()
	v := display.Demo(4)
	if err := d.Show(hal.Frame{Image: display.RenderMono(v, info.Width, info.Height)}); err != nil {
		fmt.Println(err)
	}
	d.Flush(context.Background())
	fmt.Printf("%dx%d, %d transfers to %#x\n", info.Width, info.Height, len(bus.Ops), bus.Ops[0].Addr)
	// Output: 128x64, 17 transfers to 0x3d
}
