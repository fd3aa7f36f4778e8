package ssd1306

import (
	"context"
	"image"
	"image/color"
	"sync"
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/haltest"
)

// ramBus decodes the page writes on the bus into the controller's display
// RAM, so the suite can read back what the panel shows.
type ramBus struct {
	i2ctest.Record
	mu        sync.Mutex
	page, col int
	ram       [8][128]byte
}

func (b *ramBus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case len(w) == 4 && w[0] == 0x00 && w[1]&0xF0 == 0xB0:
		b.page, b.col = int(w[1]&0x07), int(w[2]&0x0F)|int(w[3]&0x0F)<<4
	case len(w) > 0 && w[0] == 0x40:
		for _, v := range w[1:] {
			b.ram[b.page][b.col&127] = v
			b.col++
		}
	}
	return nil
}

func (b *ramBus) image(w, h int) *image.Gray {
	b.mu.Lock()
	defer b.mu.Unlock()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if b.ram[y/8][x]&(1<<(y%8)) != 0 {
				img.SetGray(x, y, color.Gray{255})
			}
		}
	}
	return img
}

func TestConformance(t *testing.T) {
	for _, h := range []int{64, 32} {
		haltest.TestDisplay(t, func(t *testing.T) haltest.DisplayHarness {
			bus := &ramBus{}
			d, err := New(bus, Options{Height: h})
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
					return hal.Frame{Image: bus.image(128, h)}, nil
				},
				Close: d.Close,
			}
		})
	}
}
