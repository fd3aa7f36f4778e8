package hw

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/display"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

// On a machine without I²C (no /dev/i2c-1: not a Pi, or I²C not enabled)
// the board's display is one clear line, and the board keeps its lamp:
// the display is left out with a warning.
func TestDisplayWithoutI2C(t *testing.T) {
	if _, err := os.Stat("/dev/i2c-1"); err == nil {
		t.Skip("this machine has /dev/i2c-1")
	}
	for _, drv := range []string{"ssd1306", "hd44780-pcf8574"} {
		b, _ := boards.Lookup("devboard-leds")
		def := *b.Display
		def.Driver = drv
		b.Display = &def
		_, err := openDisplay(def, nil)
		want := `hal: display ` + drv + `: no I2C bus "1" found (enable I2C: dtparam=i2c_arm=on)`
		if err == nil || err.Error() != want {
			t.Fatalf("openDisplay: %v\nwant %s", err, want)
		}

		var logbuf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logbuf, nil))
		sb := sim.New(sim.Options{})
		d := hal.Devices{Lamp: sb.Lamp, Closer: sb}
		if err := attachDisplay(&d, b, log); err != nil {
			t.Fatalf("a board with a lamp failed for its display: %v", err)
		}
		if d.Display != nil {
			t.Fatalf("display %v attached without a bus", d.Display)
		}
		if !strings.Contains(logbuf.String(), "level=WARN") || !strings.Contains(logbuf.String(), `no I2C bus \"1\" found`) {
			t.Fatalf("no warning naming the bus: %q", logbuf.String())
		}
		if err := d.Lamp.SetPattern(hal.PatternSteady); err != nil {
			t.Fatalf("lamp after the display failed: %v", err)
		}

		// Nothing else to show anything: the missing display is fatal.
		var none hal.Devices
		if err := attachDisplay(&none, b, log); err == nil || err.Error() != want {
			t.Fatalf("display-only board: %v, want %s", err, want)
		}
	}
}

// busRecord is a fake periph I²C bus that records every transfer and,
// like the devices' closers, when it was closed.
type busRecord struct {
	i2ctest.Record
	order *[]string
}

func (b *busRecord) Close() error { *b.order = append(*b.order, "i2c bus"); return nil }

// orderCloser notes when the other devices were closed.
type orderCloser struct {
	order *[]string
	name  string
}

func (c orderCloser) Close() error { *c.order = append(*c.order, c.name); return nil }

func registerBus(t *testing.T, name string, order *[]string) *busRecord {
	t.Helper()
	rec := &busRecord{order: order}
	if err := i2creg.Register(name, nil, -1, func() (i2c.BusCloser, error) { return rec, nil }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { i2creg.Unregister(name) })
	return rec
}

// Through a fake I²C bus in periph's registry, hw opens the board's
// SSD1306 (at the board's address and size), a frame shown on hal.Devices'
// Display reaches the bus, and closing the devices releases the other
// devices first, then switches the panel off and closes the bus.
func TestDisplaySSD1306OnFakeBus(t *testing.T) {
	var order []string
	rec := registerBus(t, "mwi-hw-test-ssd1306", &order)
	b, _ := boards.Lookup("devboard-leds")
	def := *b.Display
	def.Bus = "mwi-hw-test-ssd1306"
	b.Display = &def

	sb := sim.New(sim.Options{})
	d := hal.Devices{Lamp: sb.Lamp, Closer: orderCloser{&order, "gpio lines"}}
	if err := attachDisplay(&d, b, nil); err != nil {
		t.Fatal(err)
	}
	if d.Display == nil {
		t.Fatal("no display attached")
	}
	info := d.Display.Info()
	if info != (hal.DisplayInfo{Kind: hal.DisplayGraphic, Width: 128, Height: 64}) {
		t.Fatalf("Info() = %+v", info)
	}
	rec.Lock()
	inits := len(rec.Ops)
	if inits == 0 || rec.Ops[0].Addr != def.Address {
		t.Fatalf("no init sequence to %#x: %v", def.Address, rec.Ops)
	}
	rec.Unlock()

	v := display.View{Accounts: []display.AccountView{{Label: "Desk", New: 3, Waiting: display.WaitingYes}}}
	if err := d.Display.Show(display.Render(v, info)); err != nil {
		t.Fatal(err)
	}
	// The frame is drawn by the driver's goroutine: wait for page data
	// (control byte 0x40) with lit pixels.
	lit := func() int {
		rec.Lock()
		defer rec.Unlock()
		n := 0
		for _, op := range rec.Ops[inits:] {
			if op.Addr == def.Address && len(op.W) > 1 && op.W[0] == 0x40 {
				for _, c := range op.W[1:] {
					if c != 0 {
						n++
					}
				}
			}
		}
		return n
	}
	for end := time.Now().Add(5 * time.Second); lit() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the frame did not reach the bus within 5 s")
		}
	}
	if n := lit(); n < 20 {
		t.Fatalf("only %d non-blank bytes of a frame showing an account", n)
	}
	if fl, ok := d.Display.(interface{ Flush(context.Context) error }); ok {
		fl.Flush(context.Background())
	}

	rec.Lock()
	before := len(rec.Ops)
	rec.Unlock()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(order, ", ")
	if got != "gpio lines, i2c bus" {
		t.Fatalf("close order: %s, want gpio lines, i2c bus", got)
	}
	rec.Lock()
	defer rec.Unlock()
	off := false
	for _, op := range rec.Ops[before:] {
		if len(op.W) >= 2 && op.W[0] == 0x00 && bytes.IndexByte(op.W[1:], 0xAE) >= 0 {
			off = true
		}
	}
	if !off {
		t.Fatalf("panel not switched off (0xAE) on close: %v", rec.Ops[before:])
	}
}

// An HD44780 LCD on a board goes through the same path (text frames).
func TestDisplayHD44780OnFakeBus(t *testing.T) {
	var order []string
	rec := registerBus(t, "mwi-hw-test-hd44780", &order)
	b, _ := boards.Lookup("devboard-leds")
	b.Display = &boards.DisplayDef{Driver: "hd44780-pcf8574", Bus: "mwi-hw-test-hd44780", Address: 0x27, Width: 16, Height: 2}
	sb := sim.New(sim.Options{})
	d := hal.Devices{Lamp: sb.Lamp, Closer: sb}
	if err := attachDisplay(&d, b, nil); err != nil {
		t.Fatal(err)
	}
	if info := d.Display.Info(); info.Kind != hal.DisplayText || info.Width != 16 || info.Height != 2 {
		t.Fatalf("Info() = %+v", info)
	}
	rec.Lock()
	n := len(rec.Ops)
	rec.Unlock()
	v := display.View{Accounts: []display.AccountView{{Label: "Desk", New: 3, Waiting: display.WaitingYes}}}
	if err := d.Display.Show(display.Render(v, d.Display.Info())); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		rec.Lock()
		m := len(rec.Ops)
		rec.Unlock()
		if m > n {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the frame did not reach the bus within 5 s")
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if len(order) != 1 || order[0] != "i2c bus" {
		t.Fatalf("bus not closed: %v", order)
	}
}
