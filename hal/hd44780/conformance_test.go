package hd44780

import (
	"context"
	"strings"
	"sync"
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/haltest"
)

// syncModelBus feeds the LCD model under a lock, for reading back from the
// test goroutine.
type syncModelBus struct {
	i2ctest.Record
	mu sync.Mutex
	m  *lcdModel
}

func (b *syncModelBus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m.feed(w)
	return nil
}

func TestConformance(t *testing.T) {
	for _, sz := range [][2]int{{16, 2}, {20, 4}} {
		haltest.TestDisplay(t, func(t *testing.T) haltest.DisplayHarness {
			bus := &syncModelBus{m: newModel(CommonPins())}
			d, err := New(bus, Options{Cols: sz[0], Rows: sz[1], Sleep: noSleep})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return haltest.DisplayHarness{
				Display: d,
				Shown: func() (hal.Frame, error) {
					if err := d.Flush(context.Background()); err != nil {
						return hal.Frame{}, err
					}
					bus.mu.Lock()
					defer bus.mu.Unlock()
					rows := bus.m.screen(sz[0], sz[1])
					for i := range rows {
						rows[i] = strings.TrimRight(rows[i], " ") // the suite's rows are not padded
					}
					return hal.Frame{Text: rows}, nil
				},
				Close: d.Close,
			}
		})
	}
}
