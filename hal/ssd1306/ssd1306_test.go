package ssd1306

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/mwi-agent/mwi-agent/display"
	"github.com/mwi-agent/mwi-agent/hal"
)

// initSequence is what the SSD1306 datasheet's application note asks for, as
// periph sends it for a 128×64 panel: control byte 0x00 (commands), display
// off, offset 0, start line 0, segment remap (A1), COM scan descending (C8),
// COM pins (DA 12: alternative), contrast FF, resume from RAM (A4), normal
// (A6), clock (D5 F0), charge pump on (8D 14), pre-charge (D9 F1), VCOMH (DB
// 40), scrolling off (2E), multiplex 63 (A8 3F), horizontal addressing (20
// 00), columns 0-127 (21 00 7F), pages 0-7 (22 00 07), display on (AF).
var initSequence = []byte{0x00,
	0xAE, 0xD3, 0x00, 0x40, 0xA1, 0xC8, 0xDA, 0x12, 0x81, 0xFF, 0xA4, 0xA6,
	0xD5, 0xF0, 0x8D, 0x14, 0xD9, 0xF1, 0xDB, 0x40, 0x2E, 0xA8, 0x3F,
	0x20, 0x00, 0x21, 0x00, 0x7F, 0x22, 0x00, 0x07, 0xAF}

func flush(t *testing.T, d *Display) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// pageWrite is the two transfers periph makes for one page: set page and
// start column, then the data.
func pageWrite(addr uint16, page, col int, data []byte) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: addr, W: []byte{0x00, 0xB0 | byte(page), byte(col & 0x0F), 0x10 | byte(col>>4)}},
		{Addr: addr, W: append([]byte{0x40}, data...)},
	}
}

// The init sequence and a first full frame go to the configured address
// 0x3D, byte for byte, checked by playing the expected transfers back.
func TestInitAndFrameOnTheBus(t *testing.T) {
	const addr = 0x3D
	ops := []i2ctest.IO{{Addr: addr, W: initSequence}}
	img := image.NewGray(image.Rect(0, 0, 128, 64))
	img.SetGray(0, 0, color.Gray{255})    // page 0, column 0, bit 0
	img.SetGray(127, 63, color.Gray{200}) // page 7, column 127, bit 7
	img.SetGray(5, 20, color.Gray{1})     // page 2, column 5, bit 4: any non-black is lit
	for page := 0; page < 8; page++ {
		data := make([]byte, 128)
		switch page {
		case 0:
			data[0] = 0x01
		case 2:
			data[5] = 0x10
		case 7:
			data[127] = 0x80
		}
		ops = append(ops, pageWrite(addr, page, 0, data)...)
	}
	pb := &i2ctest.Playback{Ops: ops, DontPanic: true}
	d, err := New(pb, Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Info(); got != (hal.DisplayInfo{Kind: hal.DisplayGraphic, Width: 128, Height: 64}) {
		t.Errorf("Info() = %+v", got)
	}
	if err := d.Show(hal.Frame{Image: img}); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	if err := d.Show(hal.Frame{Image: img}); err != nil { // the same frame: nothing on the bus
		t.Fatalf("frame write did not match the expected transfers: %v", err)
	}
	flush(t, d)
	if err := pb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Show(hal.Frame{Image: img}); err != nil {
		t.Fatalf("an unchanged frame caused bus traffic: %v", err)
	}
}

// After the first frame only changed pages are sent, each narrowed to the
// columns that changed.
func TestOnlyChangedPagesAreSent(t *testing.T) {
	rec := &i2ctest.Record{}
	d, err := New(rec, Options{Height: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !bytes.Equal(rec.Ops[0].W[7:9], []byte{0xDA, 0x02}) || rec.Ops[0].W[23] != 0x1F {
		t.Errorf("128x32 init: want sequential COM pins (DA 02) and multiplex 31, got % x", rec.Ops[0].W)
	}
	v := display.Demo(2)
	if err := d.Show(hal.Frame{Image: display.RenderMono(v, 128, 32)}); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	if n := len(rec.Ops); n != 1+2*4 {
		t.Fatalf("first frame: %d transfers, want init + 4 pages x 2", n)
	}
	rec.Ops = nil
	v.Accounts[0].New = 4 // the count on the first row (pages 0-1) changes
	if err := d.Show(hal.Frame{Image: display.RenderMono(v, 128, 32)}); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	var pages []byte
	total := 0
	for _, op := range rec.Ops {
		total += len(op.W)
		if op.W[0] == 0x00 {
			pages = append(pages, op.W[1]&0x0F)
			if op.W[2] == 0x00 && op.W[3] == 0x10 {
				t.Errorf("page %d resent from column 0 although only the count changed", op.W[1]&0x0F)
			}
		}
	}
	if !bytes.Equal(pages, []byte{0, 1}) {
		t.Errorf("pages sent %v, want [0 1]", pages)
	}
	if total >= 2*(4+129) {
		t.Errorf("%d bytes for a count change; full pages would be %d", total, 2*(4+129))
	}
}

func TestRotationAndAddressing(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 128, 64))
	img.SetGray(0, 0, color.Gray{255})
	for _, c := range []struct {
		rot  int
		w, h int
		x, y int // where the top-left pixel lands on the panel
	}{{0, 128, 64, 0, 0}, {180, 128, 64, 127, 63}, {90, 64, 128, 127, 0}, {270, 64, 128, 0, 63}} {
		rec := &i2ctest.Record{}
		d, err := New(rec, Options{Rotation: c.rot})
		if err != nil {
			t.Fatal(err)
		}
		if in := d.Info(); in.Width != c.w || in.Height != c.h {
			t.Errorf("rotation %d: Info %dx%d, want %dx%d", c.rot, in.Width, in.Height, c.w, c.h)
		}
		src := image.NewRGBA(image.Rect(10, 10, 10+c.w, 10+c.h)) // any image type, any origin
		src.Set(10, 10, color.RGBA{0, 0, 9, 255})
		buf := d.panel.pages(src)
		for i, b := range buf {
			want := byte(0)
			if i == (c.y/8)*128+c.x {
				want = 1 << (c.y % 8)
			}
			if b != want {
				t.Fatalf("rotation %d: byte %d = %#x, want %#x", c.rot, i, b, want)
			}
		}
		d.Close()
		for _, op := range rec.Ops {
			if op.Addr != 0x3C {
				t.Fatalf("default address: transfer to %#x", op.Addr)
			}
		}
		if last := rec.Ops[len(rec.Ops)-1].W; !bytes.Equal(last, []byte{0x00, 0xAE}) {
			t.Errorf("Close did not switch the panel off: last write % x", last)
		}
	}
	for _, o := range []Options{{Addr: 0x3E}, {Rotation: 45}, {COMPins: "zigzag"}, {Width: 100}} {
		if _, err := New(&i2ctest.Record{}, o); err == nil {
			t.Errorf("New(%+v) accepted a bad option", o)
		}
	}
}

// failBus fails every transfer after the first n.
type failBus struct {
	i2ctest.Record
	ok int
}

func (b *failBus) Tx(addr uint16, w, r []byte) error {
	if b.ok <= 0 {
		return errors.New("nack")
	}
	b.ok--
	return b.Record.Tx(addr, w, r)
}

// A failed write is reported by the next Show, and the display re-inits and
// resends the whole frame once the bus works again.
func TestWriteErrorRecovers(t *testing.T) {
	bus := &failBus{ok: 1} // init only
	d, err := New(bus, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f := hal.Frame{Image: display.RenderMono(display.Demo(3), 128, 64)}
	if err := d.Show(f); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	bus.ok = 1000
	if err := d.Show(f); err == nil {
		t.Error("Show after a failed write returned no error")
	}
	flush(t, d)
	if n := len(bus.Ops); n != 1+1+16 || !bytes.Equal(bus.Ops[1].W, initSequence) {
		t.Errorf("after the bus came back: %d transfers, want init, init again, 8 full pages", n)
	}
	if err := d.Show(f); err != nil {
		t.Errorf("error reported twice: %v", err)
	}
}

func TestClosed(t *testing.T) {
	d, err := New(&i2ctest.Record{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := d.Show(hal.Frame{}); !errors.Is(err, hal.ErrClosed) {
		t.Errorf("Show after Close = %v", err)
	}
}

// gateBus blocks every transfer after init until released.
type gateBus struct {
	i2ctest.Record
	gate chan struct{}
	init bool
}

func (g *gateBus) Tx(addr uint16, w, r []byte) error {
	if g.init {
		<-g.gate
	}
	return g.Record.Tx(addr, w, r)
}

// Show returns at once while the bus is stuck, and once it frees up the
// panel gets the newest frame, not every one in between.
func TestShowDoesNotWaitForTheBus(t *testing.T) {
	bus := &gateBus{gate: make(chan struct{})}
	d, err := New(bus, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bus.init = true
	t0 := time.Now()
	for i := 0; i < 50; i++ {
		v := display.Demo(1)
		v.Accounts[0].New = uint32(i)
		if err := d.Show(hal.Frame{Image: display.RenderMono(v, 128, 64)}); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(t0); el > 2*time.Second {
		t.Errorf("50 Shows on a stuck bus took %v", el)
	}
	close(bus.gate)
	flush(t, d)
	v := display.Demo(1)
	v.Accounts[0].New = 49
	if !bytes.Equal(d.panel.shown, d.panel.pages(display.RenderMono(v, 128, 64))) {
		t.Error("the panel does not show the last frame")
	}
	if n := len(bus.Ops); n > 1+16+2*8 {
		t.Errorf("%d transfers: intermediate frames were not dropped", n)
	}
	d.Close()
}
