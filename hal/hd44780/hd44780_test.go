package hd44780

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/mwi-agent/mwi-agent/display"
	"github.com/mwi-agent/mwi-agent/hal"
)

func noSleep(time.Duration) {}

func flush(t *testing.T, d *Display) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// The common backpack with the backlight on (P3 = 0x08): every byte carries
// 0x08; E is 0x04, RS 0x01, the data nibble is in the high four bits.
var initOps = []i2ctest.IO{
	{Addr: 0x27, W: []byte{0x08, 0x3C, 0x38}}, // 0x3 (8-bit function set), E pulse
	{Addr: 0x27, W: []byte{0x08, 0x3C, 0x38}}, // 0x3
	{Addr: 0x27, W: []byte{0x08, 0x3C, 0x38}}, // 0x3
	{Addr: 0x27, W: []byte{0x08, 0x2C, 0x28}}, // 0x2: 4-bit mode from here
	{Addr: 0x27, W: []byte{0x08,
		0x2C, 0x28, 0x8C, 0x88, // 0x28 function set: 4-bit, 2 lines, 5x8
		0x0C, 0x08, 0x8C, 0x88, // 0x08 display off
		0x0C, 0x08, 0x1C, 0x18}}, // 0x01 clear
	{Addr: 0x27, W: []byte{0x08,
		0x0C, 0x08, 0x6C, 0x68, // 0x06 entry mode: increment
		0x0C, 0x08, 0xCC, 0xC8}}, // 0x0C display on, no cursor
}

// dataByte is one character as the common backpack sends it: RS (0x01) and
// backlight (0x08) set, high nibble then low nibble, each with E high then low.
func dataByte(c byte) []byte {
	hi, lo := c&0xF0|0x09, c<<4|0x09
	return []byte{hi | 0x04, hi, lo | 0x04, lo}
}

// PCF8574 initialisation and a line write, checked byte for byte by playing
// the expected transfers back.
func TestInitAndLineWriteOnTheBus(t *testing.T) {
	line := []byte{0x08, 0x8C, 0x88, 0x0C, 0x08, // command 0x80: DDRAM address 0 (row 0)
		0x09,                   // RS high before the first E pulse
		0x4D, 0x49, 0x8D, 0x89, // 'H' = 0x48
		0x6D, 0x69, 0x9D, 0x99} // 'i' = 0x69
	for i := 2; i < 16; i++ {
		line = append(line, dataByte(' ')...)
	}
	line = append(line, 0x08, 0xCC, 0xC8, 0x0C, 0x08, 0x09) // 0xC0: row 1 at 0x40
	for i := 0; i < 16; i++ {
		line = append(line, dataByte(' ')...)
	}
	ops := append(append([]i2ctest.IO{}, initOps...), i2ctest.IO{Addr: 0x27, W: line},
		// "Hi" -> "Ho": only column 1 is rewritten.
		i2ctest.IO{Addr: 0x27, W: []byte{0x08, 0x8C, 0x88, 0x1C, 0x18, 0x09, 0x6D, 0x69, 0xFD, 0xF9}},
		// Backlight off alone: one byte without P3.
		i2ctest.IO{Addr: 0x27, W: []byte{0x00}},
		// Close: clear, backlight off.
		i2ctest.IO{Addr: 0x27, W: []byte{0x00, 0x04, 0x00, 0x14, 0x10}},
	)
	pb := &i2ctest.Playback{Ops: ops, DontPanic: true}
	var slept []time.Duration
	d, err := New(pb, Options{Sleep: func(d time.Duration) { slept = append(slept, d) }})
	if err != nil {
		t.Fatal(err)
	}
	if slept[0] < 40*time.Millisecond || slept[1] < 4100*time.Microsecond || slept[2] < 100*time.Microsecond {
		t.Errorf("init waits %v: the datasheet wants >40 ms, >4.1 ms, >100 µs", slept)
	}
	if got := d.Info(); got != (hal.DisplayInfo{Kind: hal.DisplayText, Width: 16, Height: 2}) {
		t.Errorf("Info() = %+v", got)
	}
	for _, step := range []func() error{
		func() error { return d.Show(hal.Frame{Text: []string{"Hi"}}) },
		func() error { return d.Show(hal.Frame{Text: []string{"Ho"}}) },
		func() error { return d.Show(hal.Frame{Text: []string{"Ho", ""}}) }, // no change: nothing sent
		func() error { return d.SetBacklight(false) },
	} {
		if err := step(); err != nil {
			t.Fatalf("bus traffic differs from the expected: %v", err)
		}
		flush(t, d)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pb.Close(); err != nil {
		t.Fatal(err)
	}
}

// lcdModel decodes the backpack's byte stream the way an HD44780 in 4-bit
// mode reads it: nibbles latched on E's falling edge.
type lcdModel struct {
	pins      PinMap
	prev      byte
	fourBit   bool
	high      int // pending high nibble, -1 if none
	cgramMode bool
	addr      int
	ddram     [128]byte
	cgram     [64]byte
	backlight bool
	err       error
}

func newModel(p PinMap) *lcdModel {
	m := &lcdModel{pins: p, high: -1}
	for i := range m.ddram {
		m.ddram[i] = ' '
	}
	return m
}

func (m *lcdModel) bit(b byte, p uint8) bool { return b&(1<<p) != 0 }

func (m *lcdModel) feed(bs []byte) {
	for _, b := range bs {
		m.backlight = m.bit(b, m.pins.Backlight)
		if m.bit(b, m.pins.RW) {
			m.err = errors.New("RW driven high")
		}
		eWas, eNow := m.bit(m.prev, m.pins.E), m.bit(b, m.pins.E)
		if !eWas && eNow && m.bit(m.prev, m.pins.RS) != m.bit(b, m.pins.RS) && m.err == nil {
			m.err = errors.New("RS changed as E rose (no address set-up time)")
		}
		if eWas && !eNow {
			var n byte
			for i, p := range []uint8{m.pins.D4, m.pins.D5, m.pins.D6, m.pins.D7} {
				if m.bit(m.prev, p) {
					n |= 1 << i
				}
			}
			m.nibble(n, m.bit(m.prev, m.pins.RS))
		}
		m.prev = b
	}
}

func (m *lcdModel) nibble(n byte, rs bool) {
	if !m.fourBit {
		if n == 0x2 {
			m.fourBit = true
		}
		return
	}
	if m.high < 0 {
		m.high = int(n)
		return
	}
	v := byte(m.high)<<4 | n
	m.high = -1
	switch {
	case rs && m.cgramMode:
		m.cgram[m.addr&63] = v
		m.addr++
	case rs:
		m.ddram[m.addr&127] = v
		m.addr++
	case v == 0x01:
		for i := range m.ddram {
			m.ddram[i] = ' '
		}
		m.addr, m.cgramMode = 0, false
	case v&0x80 != 0:
		m.addr, m.cgramMode = int(v&0x7F), false
	case v&0x40 != 0:
		m.addr, m.cgramMode = int(v&0x3F), true
	}
}

func (m *lcdModel) screen(cols, rows int) []string {
	out := make([]string, rows)
	for r := range out {
		a := [4]int{0, 0x40, cols, 0x40 + cols}[r]
		out[r] = string(m.ddram[a : a+cols])
	}
	return out
}

// modelBus feeds every write to a model and counts the bytes.
type modelBus struct {
	i2ctest.Record
	m     *lcdModel
	bytes int
}

func (b *modelBus) Tx(addr uint16, w, r []byte) error {
	b.m.feed(w)
	b.bytes += len(w)
	return b.Record.Tx(addr, w, r)
}

// Whatever sequence of frames is shown, the LCD ends up showing the last one
// with the glyphs in CGRAM, for both common sizes, the common and a custom
// pin map; partial updates send fewer bytes than full redraws.
func TestModelShowsLastFrame(t *testing.T) {
	custom := PinMap{RS: 6, RW: 5, E: 4, Backlight: 7, D4: 0, D5: 1, D6: 2, D7: 3}
	for _, c := range []struct {
		cols, rows int
		pins       *PinMap
	}{{16, 2, nil}, {20, 4, nil}, {20, 4, &custom}} {
		t.Run(fmt.Sprintf("%dx%d/%v", c.cols, c.rows, c.pins != nil), func(t *testing.T) {
			pins := CommonPins()
			if c.pins != nil {
				pins = *c.pins
			}
			bus := &modelBus{m: newModel(pins)}
			d, err := New(bus, Options{Cols: c.cols, Rows: c.rows, Pins: c.pins, Sleep: noSleep, Addr: 0x3F})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			rnd := rand.New(rand.NewSource(1))
			var full, partial int
			for i := 0; i < 40; i++ {
				v := display.Demo(rnd.Intn(9))
				v.Page = rnd.Intn(3)
				for k := range v.Accounts {
					v.Accounts[k].New = uint32(rnd.Intn(3)) * 7
				}
				f := display.RenderText(v, c.cols, c.rows)
				before := bus.bytes
				if err := d.Show(f); err != nil {
					t.Fatal(err)
				}
				flush(t, d)
				if i == 0 {
					full = bus.bytes - before
				} else {
					partial = max(partial, bus.bytes-before)
				}
				if bus.m.err != nil {
					t.Fatal(bus.m.err)
				}
				got := bus.m.screen(c.cols, c.rows)
				for r := range got {
					if got[r] != f.Text[r] {
						t.Fatalf("frame %d row %d: LCD shows %q, want %q", i, r, got[r], f.Text[r])
					}
				}
				for g, rows := range f.Glyphs {
					if !bytes.Equal(bus.m.cgram[g*8:g*8+8], rows[:]) {
						t.Fatalf("CGRAM slot %d = % x, want % x", g, bus.m.cgram[g*8:g*8+8], rows[:])
					}
				}
				if !bus.m.backlight {
					t.Fatal("backlight off")
				}
			}
			if partial >= full {
				t.Errorf("largest partial update %d bytes, first full frame %d", partial, full)
			}
			for _, op := range bus.Ops {
				if op.Addr != 0x3F {
					t.Fatalf("transfer to %#x, want 0x3f", op.Addr)
				}
			}
		})
	}
}

// On a 20x4 the third and fourth rows continue the first two in DDRAM.
func TestFourRowAddresses(t *testing.T) {
	rec := &i2ctest.Record{}
	d, err := New(rec, Options{Cols: 20, Rows: 4, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Show(hal.Frame{Text: []string{"", "", "", ""}})
	flush(t, d)
	rec.Ops = nil
	d.Show(hal.Frame{Text: []string{"", "", "a", "                   b"}})
	flush(t, d)
	if len(rec.Ops) != 1 {
		t.Fatalf("%d transfers, want 1", len(rec.Ops))
	}
	w := rec.Ops[0].W
	// command 0x94 (0x80 | 0x14), then 'a'; command 0xE7 (0x80 | 0x54+19), then 'b'.
	want := append([]byte{0x08, 0x9C, 0x98, 0x4C, 0x48, 0x09}, dataByte('a')...)
	want = append(append(want, 0x08, 0xEC, 0xE8, 0x7C, 0x78, 0x09), dataByte('b')...)
	if !bytes.Equal(w, want) {
		t.Errorf("wrote\n% x\nwant\n% x", w, want)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Addr: 0x30}, {Cols: 41}, {Rows: 5}, {Cols: 40, Rows: 4},
		{Pins: &PinMap{RS: 0, RW: 0, E: 2, Backlight: 3, D4: 4, D5: 5, D6: 6, D7: 7}},
		{Pins: &PinMap{RS: 8, RW: 1, E: 2, Backlight: 3, D4: 4, D5: 5, D6: 6, D7: 7}},
	} {
		o.Sleep = noSleep
		if _, err := New(&i2ctest.Record{}, o); err == nil {
			t.Errorf("New(%+v) accepted a bad option", o)
		}
	}
}

func TestBacklightActiveLowAndClosed(t *testing.T) {
	rec := &i2ctest.Record{}
	d, err := New(rec, Options{BacklightActiveLow: true, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range rec.Ops {
		for _, b := range op.W {
			if b&0x08 != 0 {
				t.Fatalf("active-low backlight on, yet P3 high in % x", op.W)
			}
		}
	}
	d.Close()
	if err := d.Show(hal.Frame{}); !errors.Is(err, hal.ErrClosed) {
		t.Errorf("Show after Close = %v", err)
	}
}
