package ssd1306

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	periph "periph.io/x/devices/v3/ssd1306"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/internal/latest"
)

// Addresses the SSD1306 answers on, chosen by a jumper or solder bridge on
// the module.
const (
	AddrDefault   uint16 = 0x3C
	AddrAlternate uint16 = 0x3D
)

// Options configure a module. The zero value is a 128×64 module at 0x3C,
// upright.
type Options struct {
	Width, Height int    // panel size in pixels; 0 means 128 and 64
	Addr          uint16 // 0x3C (0 means 0x3C) or 0x3D
	// Rotation turns the picture clockwise on the panel by 0, 90, 180 or 270
	// degrees: 180 for a module mounted upside down; with 90 or 270 Info
	// reports the panel's height as the width.
	Rotation int
	// COMPins is the panel's COM pin wiring: "" picks the usual one for the
	// height (sequential for 32 rows, alternative for 64), or "sequential" or
	// "alternative". Try the other if every second row is missing.
	COMPins string
	Logger  *slog.Logger
}

// Display is an SSD1306 module on an I²C bus.
type Display struct {
	info   hal.DisplayInfo
	panel  *panel
	worker *latest.Worker[[]byte]
	bus    io.Closer // closed by Close when Open opened it
}

var _ hal.Display = (*Display)(nil)

// addrBus sends every transfer to one address, whatever the driver asks
// for: periph's ssd1306 driver always uses 0x3C.
type addrBus struct {
	i2c.Bus
	addr uint16
}

func (b addrBus) Tx(_ uint16, w, r []byte) error { return b.Bus.Tx(b.addr, w, r) }
func (b addrBus) SetSpeed(f physic.Frequency) error {
	return b.Bus.SetSpeed(f)
}
func (b addrBus) String() string { return fmt.Sprintf("%s@%#x", b.Bus, b.addr) }

// New initialises the module (the init sequence is sent before New returns,
// so a missing module is an error here) and starts its drawing goroutine.
// The panel stays dark until the first Show.
func New(bus i2c.Bus, opt Options) (*Display, error) {
	p, err := newPanel(bus, opt)
	if err != nil {
		return nil, err
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Display{
		info:  hal.DisplayInfo{Kind: hal.DisplayGraphic, Width: p.w, Height: p.h},
		panel: p,
	}
	if p.rot == 90 || p.rot == 270 {
		d.info.Width, d.info.Height = p.h, p.w
	}
	d.worker = latest.Start(p.draw, log.With("display", "ssd1306", "addr", fmt.Sprintf("%#x", p.addr)))
	return d, nil
}

// Info reports a graphic display of the rotated size.
func (d *Display) Info() hal.DisplayInfo { return d.info }

// Show converts f.Image to the panel's pixel layout (any non-black pixel is
// lit; pixels outside the image are dark) and hands it to the drawing
// goroutine. It does not wait for the bus. It returns hal.ErrClosed after
// Close, or the error of an earlier update that failed.
func (d *Display) Show(f hal.Frame) error {
	return d.worker.Put(d.panel.pages(f.Image))
}

// Flush waits until the latest frame given to Show is on the panel.
func (d *Display) Flush(ctx context.Context) error { return d.worker.Flush(ctx) }

// Close stops the drawing goroutine and switches the panel off, so a stopped
// agent does not leave a stale message count lit.
func (d *Display) Close() error {
	if err := d.worker.Close(); err != nil {
		return err
	}
	err := d.panel.off()
	if d.bus != nil {
		err = errors.Join(err, d.bus.Close())
		d.bus = nil
	}
	return err
}

// panel is the synchronous part: it owns the periph device and remembers
// what the panel shows.
type panel struct {
	bus  i2c.Bus
	opts periph.Opts
	dev  *periph.Dev // nil after a failed write: re-initialised before the next

	addr  uint16
	w, h  int
	rot   int
	shown []byte // nil until the first frame is sent in full
	next  []byte
}

func newPanel(bus i2c.Bus, opt Options) (*panel, error) {
	w, h := opt.Width, opt.Height
	if w == 0 {
		w = 128
	}
	if h == 0 {
		h = 64
	}
	addr := opt.Addr
	if addr == 0 {
		addr = AddrDefault
	}
	if addr != AddrDefault && addr != AddrAlternate {
		return nil, fmt.Errorf("ssd1306: address %#x: the SSD1306 answers on 0x3c or 0x3d", addr)
	}
	switch opt.Rotation {
	case 0, 90, 180, 270:
	default:
		return nil, fmt.Errorf("ssd1306: rotation %d: want 0, 90, 180 or 270", opt.Rotation)
	}
	po := periph.Opts{W: w, H: h, Sequential: h <= 32}
	switch opt.COMPins {
	case "":
	case "sequential":
		po.Sequential = true
	case "alternative":
		po.Sequential = false
	default:
		return nil, fmt.Errorf("ssd1306: com_pins %q: want sequential or alternative", opt.COMPins)
	}
	p := &panel{bus: addrBus{Bus: bus, addr: addr}, opts: po, addr: addr, w: w, h: h, rot: opt.Rotation, next: make([]byte, w*h/8)}
	if err := p.init(); err != nil {
		return nil, err
	}
	return p, nil
}

// init sends the init sequence; the next frame then goes in full.
func (p *panel) init() error {
	dev, err := periph.NewI2C(p.bus, &p.opts)
	if err != nil {
		return fmt.Errorf("ssd1306: init at %#x: %w", p.addr, err)
	}
	p.dev, p.shown = dev, nil
	return nil
}

// pages converts an image to the controller's layout: h/8 pages of w bytes,
// each byte 8 vertical pixels, least significant bit on top.
func (p *panel) pages(img image.Image) []byte {
	buf := make([]byte, p.w*p.h/8)
	if img == nil {
		return buf
	}
	b := img.Bounds()
	gray, _ := img.(*image.Gray)
	lit := func(x, y int) bool {
		x, y = x+b.Min.X, y+b.Min.Y
		if x >= b.Max.X || y >= b.Max.Y {
			return false
		}
		if gray != nil {
			return gray.Pix[gray.PixOffset(x, y)] != 0
		}
		r, g, bl, _ := img.At(x, y).RGBA()
		return r|g|bl != 0
	}
	for py := 0; py < p.h; py++ {
		for px := 0; px < p.w; px++ {
			var x, y int
			switch p.rot {
			case 0:
				x, y = px, py
			case 90:
				x, y = py, p.w-1-px
			case 180:
				x, y = p.w-1-px, p.h-1-py
			case 270:
				x, y = p.h-1-py, px
			}
			if lit(x, y) {
				buf[(py/8)*p.w+px] |= 1 << (py % 8)
			}
		}
	}
	return buf
}

// draw sends buf: in full the first time (and after an error), afterwards
// only the pages that differ from what the panel shows. periph's Write sends
// the rows of pages between the first and last change, so each changed page
// goes in a Write of its own.
func (p *panel) draw(buf []byte) error {
	if p.dev == nil {
		// A write failed: the module may have been reset or replugged.
		if err := p.init(); err != nil {
			return err
		}
	}
	if p.shown == nil {
		if _, err := p.dev.Write(buf); err != nil {
			p.dev = nil
			return fmt.Errorf("ssd1306: write frame: %w", err)
		}
		p.shown = append([]byte(nil), buf...)
		return nil
	}
	for page := 0; page < p.h/8; page++ {
		lo, hi := page*p.w, (page+1)*p.w
		if string(p.shown[lo:hi]) == string(buf[lo:hi]) {
			continue
		}
		copy(p.next, p.shown)
		copy(p.next[lo:hi], buf[lo:hi])
		if _, err := p.dev.Write(p.next); err != nil {
			p.dev = nil // the panel is in an unknown state: init and resend all
			return fmt.Errorf("ssd1306: write page %d: %w", page, err)
		}
		copy(p.shown[lo:hi], buf[lo:hi])
	}
	return nil
}

func (p *panel) off() error {
	if p.dev == nil {
		return nil
	}
	if err := p.dev.Halt(); err != nil {
		return fmt.Errorf("ssd1306: display off: %w", err)
	}
	return nil
}
