package hd44780

import (
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/mwi-agent/mwi-agent/display"
)

type countBus struct {
	i2ctest.Record
	n int
}

func (c *countBus) Tx(addr uint16, w, r []byte) error { c.n += len(w); return nil }

// Bytes on the I²C bus per update of a 20x4 LCD showing 4 accounts: "full"
// is every cell and the eight glyphs (the first frame), "count" one
// account's count changing. Each character costs 4 bytes on the backpack.
func BenchmarkBusBytesPerUpdate(b *testing.B) {
	base := display.Demo(4)
	count := display.Demo(4)
	count.Accounts[0].New++
	for _, c := range []struct {
		name string
		next display.View
		full bool
	}{{"full", base, true}, {"count", count, false}} {
		b.Run(c.name, func(b *testing.B) {
			bus := &countBus{}
			d, err := New(bus, Options{Cols: 20, Rows: 4, Sleep: noSleep})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			from := d.job(display.RenderText(base, 20, 4))
			to := d.job(display.RenderText(c.next, 20, 4))
			from.backlight, to.backlight = true, true
			b.ReportAllocs()
			bytes := 0
			for b.Loop() {
				if c.full {
					d.lcd.shown, d.lcd.nGlyphs = nil, 0
				} else if err := d.lcd.draw(from); err != nil {
					b.Fatal(err)
				}
				bus.n = 0
				if err := d.lcd.draw(to); err != nil {
					b.Fatal(err)
				}
				bytes = bus.n
			}
			b.ReportMetric(float64(bytes), "bus-bytes/update")
		})
	}
}
