package hd44780

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/internal/latest"
)

// Backpack addresses: PCF8574 modules answer on 0x20-0x27 (0x27 with no
// jumper set), PCF8574A modules on 0x38-0x3F (0x3F).
const (
	AddrPCF8574  uint16 = 0x27
	AddrPCF8574A uint16 = 0x3F
)

// PinMap says which PCF8574 output (0-7, P0-P7) drives each LCD signal.
type PinMap struct {
	RS, RW, E, Backlight, D4, D5, D6, D7 uint8
}

// CommonPins is the wiring of the ubiquitous blue "LCM1602"/YwRobot
// backpacks: P0 RS, P1 RW, P2 E, P3 backlight, P4-P7 D4-D7.
func CommonPins() PinMap {
	return PinMap{RS: 0, RW: 1, E: 2, Backlight: 3, D4: 4, D5: 5, D6: 6, D7: 7}
}

func (m PinMap) validate() error {
	seen := 0
	for _, p := range []uint8{m.RS, m.RW, m.E, m.Backlight, m.D4, m.D5, m.D6, m.D7} {
		if p > 7 {
			return fmt.Errorf("hd44780: pin map %+v: pin %d is not P0-P7", m, p)
		}
		if seen&(1<<p) != 0 {
			return fmt.Errorf("hd44780: pin map %+v: P%d used twice", m, p)
		}
		seen |= 1 << p
	}
	return nil
}

// Options configure a module. The zero value is a 16×2 LCD on a common
// backpack at 0x27 with the backlight on.
type Options struct {
	Cols, Rows int     // characters; 0 means 16 and 2
	Addr       uint16  // backpack address; 0 means 0x27
	Pins       *PinMap // nil means CommonPins
	// BacklightActiveLow is for backpacks whose backlight transistor is on
	// when its pin is low.
	BacklightActiveLow bool
	// BacklightOff starts with the backlight off.
	BacklightOff bool
	// Sleep waits between initialisation steps; nil means time.Sleep.
	// Tests pass a function that records instead.
	Sleep  func(time.Duration)
	Logger *slog.Logger
}

// Display is an HD44780 LCD behind a PCF8574 backpack.
type Display struct {
	info   hal.DisplayInfo
	lcd    *lcd
	worker *latest.Worker[job]
	bus    io.Closer // closed by Close when Open opened it

	mu   sync.Mutex
	last job
}

var _ hal.Display = (*Display)(nil)

// job is one complete state of the LCD.
type job struct {
	cells     [][]byte // rows × cols character codes
	glyphs    [8][8]byte
	nGlyphs   int
	backlight bool
}

// New initialises the LCD (the 4-bit init sequence is sent before New
// returns, so a missing backpack is an error here), uploads nothing yet,
// and starts its drawing goroutine.
func New(bus i2c.Bus, opt Options) (*Display, error) {
	l, err := newLCD(bus, opt)
	if err != nil {
		return nil, err
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Display{
		info: hal.DisplayInfo{Kind: hal.DisplayText, Width: l.cols, Height: l.rows},
		lcd:  l,
		last: job{cells: blank(l.cols, l.rows), backlight: !opt.BacklightOff},
	}
	d.worker = latest.Start(l.draw, log.With("display", "hd44780", "addr", fmt.Sprintf("%#x", l.addr)))
	return d, nil
}

func blank(cols, rows int) [][]byte {
	cells := make([][]byte, rows)
	for r := range cells {
		cells[r] = make([]byte, cols)
		for c := range cells[r] {
			cells[r][c] = ' '
		}
	}
	return cells
}

// Info reports a text display of Cols×Rows characters.
func (d *Display) Info() hal.DisplayInfo { return d.info }

// Show takes f.Text (one string per row, bytes 0-7 for the custom
// characters; short rows are padded with spaces, long ones cut) and up to
// eight f.Glyphs, and hands them to the drawing goroutine without waiting
// for the bus. It returns hal.ErrClosed after Close, or the error of an
// earlier update that failed.
func (d *Display) Show(f hal.Frame) error {
	j := d.job(f)
	d.mu.Lock()
	j.backlight = d.last.backlight
	d.last = j
	d.mu.Unlock()
	return d.worker.Put(j)
}

// job copies a frame into a job of the LCD's size.
func (d *Display) job(f hal.Frame) job {
	j := job{cells: blank(d.info.Width, d.info.Height)}
	for r := 0; r < len(f.Text) && r < len(j.cells); r++ {
		copy(j.cells[r], f.Text[r])
	}
	j.nGlyphs = min(len(f.Glyphs), 8)
	for i := 0; i < j.nGlyphs; i++ {
		for k, b := range f.Glyphs[i] {
			j.glyphs[i][k] = b & 0x1F
		}
	}
	return j
}

// SetBacklight switches the backlight, without waiting for the bus.
func (d *Display) SetBacklight(on bool) error {
	d.mu.Lock()
	d.last.backlight = on
	j := d.last
	d.mu.Unlock()
	return d.worker.Put(j)
}

// Flush waits until the latest frame given to Show is on the LCD.
func (d *Display) Flush(ctx context.Context) error { return d.worker.Flush(ctx) }

// Close stops the drawing goroutine, clears the LCD and switches its
// backlight off, so a stopped agent does not leave a stale count showing.
func (d *Display) Close() error {
	if err := d.worker.Close(); err != nil {
		return err
	}
	err := d.lcd.off()
	if d.bus != nil {
		err = errors.Join(err, d.bus.Close())
		d.bus = nil
	}
	return err
}

// HD44780 instructions.
const (
	cmdClear       = 0x01
	cmdEntryMode   = 0x04 | 0x02 // increment, no shift
	cmdDisplayOff  = 0x08
	cmdDisplayOn   = 0x08 | 0x04 // display on, cursor and blink off
	cmdFunction4   = 0x20        // 4-bit interface, 5x8 dots
	cmdTwoLines    = 0x08
	cmdSetCGRAM    = 0x40
	cmdSetDDRAM    = 0x80
	clearWait      = 2 * time.Millisecond
	powerOnWait    = 50 * time.Millisecond
	firstResetWait = 5 * time.Millisecond
	resetWait      = 200 * time.Microsecond
)

// lcd is the synchronous part: it owns the bus and remembers what the LCD
// shows.
type lcd struct {
	dev        *i2c.Dev
	addr       uint16
	cols, rows int
	pins       PinMap
	blLow      bool
	sleep      func(time.Duration)

	shown     [][]byte // nil: unknown, redraw every cell
	glyphs    [8][8]byte
	nGlyphs   int // how many CGRAM slots hold glyphs[...]
	backlight bool
	needInit  bool
	buf       []byte
}

func newLCD(bus i2c.Bus, opt Options) (*lcd, error) {
	l := &lcd{cols: opt.Cols, rows: opt.Rows, addr: opt.Addr, pins: CommonPins(), blLow: opt.BacklightActiveLow, sleep: opt.Sleep, backlight: !opt.BacklightOff}
	if l.cols == 0 {
		l.cols = 16
	}
	if l.rows == 0 {
		l.rows = 2
	}
	if l.cols < 1 || l.cols > 40 || l.rows < 1 || l.rows > 4 || l.cols*l.rows > 80 {
		return nil, fmt.Errorf("hd44780: size %dx%d: an HD44780 has 1-4 rows of up to 40 characters, 80 in all", l.cols, l.rows)
	}
	if l.addr == 0 {
		l.addr = AddrPCF8574
	}
	if l.addr < 0x20 || l.addr > 0x3F || (l.addr > 0x27 && l.addr < 0x38) {
		return nil, fmt.Errorf("hd44780: address %#x: a PCF8574 answers on 0x20-0x27, a PCF8574A on 0x38-0x3f", l.addr)
	}
	if opt.Pins != nil {
		l.pins = *opt.Pins
	}
	if err := l.pins.validate(); err != nil {
		return nil, err
	}
	if l.sleep == nil {
		l.sleep = time.Sleep
	}
	l.dev = &i2c.Dev{Bus: bus, Addr: l.addr}
	if err := l.init(); err != nil {
		return nil, err
	}
	return l, nil
}

// bits maps a 4-bit value and the control lines to the backpack's outputs.
func (l *lcd) bits(nibble byte, rs, e bool) byte {
	var b byte
	for i, p := range [4]uint8{l.pins.D4, l.pins.D5, l.pins.D6, l.pins.D7} {
		if nibble&(1<<i) != 0 {
			b |= 1 << p
		}
	}
	if rs {
		b |= 1 << l.pins.RS
	}
	if e {
		b |= 1 << l.pins.E
	}
	if l.backlight != l.blLow {
		b |= 1 << l.pins.Backlight
	}
	return b // RW stays low: the LCD is only written
}

// nibble appends one 4-bit transfer: E high with the data, then E low (the
// LCD latches on the falling edge). At I²C speeds each byte lasts over
// 20 µs, far above the HD44780's 450 ns enable pulse and 37 µs instruction
// time.
func (l *lcd) nibble(buf []byte, v byte, rs bool) []byte {
	return append(buf, l.bits(v, rs, true), l.bits(v, rs, false))
}

// byteOut appends a whole byte, high nibble first. The first byte after a
// change of RS is preceded by the new RS level with E low (address set-up
// time).
func (l *lcd) byteOut(buf []byte, v byte, rs bool) []byte {
	return l.nibble(l.nibble(buf, v>>4, rs), v&0x0F, rs)
}

func (l *lcd) setup(buf []byte, rs bool) []byte { return append(buf, l.bits(0, rs, false)) }

func (l *lcd) command(buf []byte, c byte) []byte {
	return l.byteOut(l.setup(buf, false), c, false)
}

func (l *lcd) tx(b []byte) error {
	if err := l.dev.Tx(b, nil); err != nil {
		return fmt.Errorf("hd44780: write to %#x: %w", l.addr, err)
	}
	return nil
}

// init runs the HD44780's 4-bit initialisation by instruction (datasheet
// figure 24), which works whatever state the controller is in.
func (l *lcd) init() error {
	l.shown, l.nGlyphs, l.needInit = nil, 0, true
	l.sleep(powerOnWait)
	for _, step := range []struct {
		v    byte
		wait time.Duration
	}{{0x3, firstResetWait}, {0x3, resetWait}, {0x3, resetWait}, {0x2, resetWait}} {
		if err := l.tx(l.nibble(l.setup(nil, false), step.v, false)); err != nil {
			return err
		}
		l.sleep(step.wait)
	}
	fn := byte(cmdFunction4)
	if l.rows > 1 {
		fn |= cmdTwoLines
	}
	var b []byte
	b = l.command(b, fn)
	b = l.byteOut(b, cmdDisplayOff, false)
	b = l.byteOut(b, cmdClear, false)
	if err := l.tx(b); err != nil {
		return err
	}
	l.sleep(clearWait)
	b = l.command(nil, cmdEntryMode)
	b = l.byteOut(b, cmdDisplayOn, false)
	if err := l.tx(b); err != nil {
		return err
	}
	l.needInit = false
	return nil
}

// rowAddr is the DDRAM address of a row's first character: rows 2 and 3
// continue rows 0 and 1 (0x00, 0x40, then +cols).
func (l *lcd) rowAddr(r int) byte {
	return [4]byte{0x00, 0x40, byte(l.cols), 0x40 + byte(l.cols)}[r]
}

// draw brings the LCD to j, sending only what differs, in one transfer.
func (l *lcd) draw(j job) error {
	if l.needInit {
		if err := l.init(); err != nil {
			return err
		}
	}
	blChanged := j.backlight != l.backlight
	l.backlight = j.backlight
	b := l.buf[:0]
	// Custom glyphs: upload the run of slots that changed.
	lo, hi := -1, -1
	for i := 0; i < j.nGlyphs; i++ {
		if i >= l.nGlyphs || j.glyphs[i] != l.glyphs[i] {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	if lo >= 0 {
		b = l.command(b, cmdSetCGRAM|byte(lo)<<3)
		b = l.setup(b, true)
		for i := lo; i <= hi; i++ {
			for _, row := range j.glyphs[i] {
				b = l.byteOut(b, row, true)
			}
		}
	}
	// Characters: runs of changed cells, bridging single unchanged ones (a
	// cell costs as many bytes as a new address).
	changed := func(r, c int) bool { return l.shown == nil || l.shown[r][c] != j.cells[r][c] }
	for r := 0; r < l.rows; r++ {
		for c := 0; c < l.cols; {
			if !changed(r, c) {
				c++
				continue
			}
			end := c + 1
			for end < l.cols {
				if changed(r, end) {
					end++
				} else if end+1 < l.cols && changed(r, end+1) {
					end += 2
				} else {
					break
				}
			}
			b = l.command(b, cmdSetDDRAM|(l.rowAddr(r)+byte(c)))
			b = l.setup(b, true)
			for k := c; k < end; k++ {
				b = l.byteOut(b, j.cells[r][k], true)
			}
			c = end
		}
	}
	if len(b) == 0 && blChanged {
		b = l.setup(b, false) // one byte sets the backlight pin
	}
	l.buf = b[:0]
	if len(b) == 0 {
		return nil
	}
	if err := l.tx(b); err != nil {
		l.needInit = true // the LCD may have lost nibble sync: start over
		return err
	}
	if l.shown == nil {
		l.shown = blank(l.cols, l.rows)
	}
	for r := range l.shown {
		copy(l.shown[r], j.cells[r])
	}
	if j.nGlyphs > l.nGlyphs {
		l.nGlyphs = j.nGlyphs
	}
	copy(l.glyphs[:j.nGlyphs], j.glyphs[:j.nGlyphs])
	return nil
}

func (l *lcd) off() error {
	l.backlight = false
	if err := l.tx(l.command(nil, cmdClear)); err != nil {
		return err
	}
	l.sleep(clearWait)
	return nil
}
