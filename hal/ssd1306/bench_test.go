package ssd1306

import (
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/mwi-agent/mwi-agent/display"
	"github.com/mwi-agent/mwi-agent/hal"
)

// countBus counts the bytes written to the bus.
type countBus struct {
	i2ctest.Record
	n int
}

func (c *countBus) Tx(addr uint16, w, r []byte) error { c.n += len(w); return nil }

// Bytes on the I²C bus per update of a 128x64 panel showing 4 accounts:
// "full" is a whole frame (the first one, or after an error), "count" a
// typical update where one account's count changes, "waiting" one where an
// account's envelope fills and its count appears. Each byte is 9 clocks on
// the bus, so at 400 kHz 1000 bytes take about 23 ms.
func BenchmarkBusBytesPerUpdate(b *testing.B) {
	base := display.Demo(4)
	count := display.Demo(4)
	count.Accounts[0].New++
	waiting := display.Demo(4)
	waiting.Accounts[1].Waiting, waiting.Accounts[1].New = display.WaitingYes, 2
	for _, c := range []struct {
		name string
		next display.View
		full bool
	}{{"full", base, true}, {"count", count, false}, {"waiting", waiting, false}} {
		b.Run(c.name, func(b *testing.B) {
			bus := &countBus{}
			d, err := New(bus, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			from := d.panel.pages(display.RenderMono(base, 128, 64))
			to := d.panel.pages(hal.Frame{Image: display.RenderMono(c.next, 128, 64)}.Image)
			b.ReportAllocs()
			bytes := 0
			for b.Loop() {
				if c.full {
					// As after New or an error: init, then the frame in full.
					if err := d.panel.init(); err != nil {
						b.Fatal(err)
					}
				} else if err := d.panel.draw(from); err != nil {
					b.Fatal(err)
				}
				bus.n = 0
				if err := d.panel.draw(to); err != nil {
					b.Fatal(err)
				}
				bytes = bus.n
			}
			b.ReportMetric(float64(bytes), "bus-bytes/update")
		})
	}
}
