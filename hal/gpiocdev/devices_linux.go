//go:build linux

package gpiocdev

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
	gc "github.com/warthog618/go-gpiocdev"
)

// Resolve finds the chip and offset of a board line: by kernel line name
// first, on any chip; then by the board's chip (a device name such as
// "gpiochip0" or a chip label such as "pinctrl-rp1") and offset.
func Resolve(ref boards.LineRef) (chip string, offset int, err error) {
	if ref.Name != "" {
		chip, offset, err = gc.FindLine(ref.Name)
		if err == nil {
			return chip, offset, nil
		}
		if ref.Chip == "" {
			return "", 0, &LineNotFoundError{Line: ref.Name, Why: chipsSummary()}
		}
	}
	if ref.Chip == "" {
		return "", 0, fmt.Errorf("gpiocdev: line %s: neither a name nor a chip is set", ref)
	}
	chip, err = findChip(ref.Chip)
	if err != nil {
		return "", 0, &LineNotFoundError{Line: ref.String(), Why: err.Error()}
	}
	c, err := gc.NewChip(chip)
	if err != nil {
		return "", 0, fmt.Errorf("gpiocdev: line %s: %w", ref, err)
	}
	n := c.Lines()
	c.Close()
	if ref.Offset < 0 || ref.Offset >= n {
		return "", 0, &LineNotFoundError{Line: ref.String(), Why: fmt.Sprintf("%s has %d lines", chip, n)}
	}
	return chip, ref.Offset, nil
}

// findChip accepts a chip device name, a /dev path or a chip label.
func findChip(name string) (string, error) {
	if gc.IsChip(name) == nil {
		return strings.TrimPrefix(name, "/dev/"), nil
	}
	for _, c := range gc.Chips() {
		ch, err := gc.NewChip(c)
		if err != nil {
			continue
		}
		label := ch.Label
		ch.Close()
		if label == name {
			return c, nil
		}
	}
	return "", fmt.Errorf("no GPIO chip named or labelled %q (%s)", name, chipsSummary())
}

// chipsSummary says which chips there are, to make "not found" actionable.
func chipsSummary() string {
	m, _ := os.ReadDir("/dev")
	var all, denied []string
	for _, e := range m {
		if strings.HasPrefix(e.Name(), "gpiochip") {
			all = append(all, e.Name())
			if f, err := os.Open("/dev/" + e.Name()); err != nil {
				denied = append(denied, e.Name())
			} else {
				f.Close()
			}
		}
	}
	switch {
	case len(all) == 0:
		return "this machine has no /dev/gpiochip*"
	case len(denied) > 0:
		return fmt.Sprintf("chips %s; no permission to open %s", strings.Join(all, " "), strings.Join(denied, " "))
	}
	return "chips " + strings.Join(all, " ")
}

// cdevPin is a requested line.
type cdevPin struct{ l *gc.Line }

func (p cdevPin) Set(on bool) error {
	v := 0
	if on {
		v = 1
	}
	return p.l.SetValue(v)
}

func (p cdevPin) Get() (bool, error) {
	v, err := p.l.Value()
	return v == 1, err
}

func (p cdevPin) Close() error { return p.l.Close() }

func request(ref boards.LineRef, opt Options, extra ...gc.LineReqOption) (*gc.Line, error) {
	chip, off, err := Resolve(ref)
	if err != nil {
		return nil, err
	}
	opts := append([]gc.LineReqOption{gc.WithConsumer(opt.consumer())}, extra...)
	if ref.ActiveLow {
		opts = append(opts, gc.AsActiveLow)
	}
	l, err := gc.RequestLine(chip, off, opts...)
	if err != nil {
		return nil, fmt.Errorf("gpiocdev: requesting %s (%s:%d): %w", ref, chip, off, err)
	}
	return l, nil
}

func openOutput(ref boards.LineRef, opt Options) (pin, error) {
	l, err := request(ref, opt, gc.AsOutput(0))
	if err != nil {
		return nil, err
	}
	return cdevPin{l}, nil
}

// openPD requests the SLIC's power-down line open-drain and released: it
// can pull PD low but never drives it high (Ag1171 datasheet, pin 14).
func openPD(ref boards.LineRef, opt Options) (pin, error) {
	if ref.ActiveLow {
		return nil, fmt.Errorf("gpiocdev: fxs.pd %s: active_low is not allowed: PD is pulled low open-drain (low = power down) and never driven high", ref)
	}
	l, err := request(ref, opt, gc.AsOutput(1), gc.AsOpenDrain)
	if err != nil {
		return nil, err
	}
	return cdevPin{l}, nil
}

// OpenLamp requests ref as an output, dark.
func OpenLamp(ref boards.LineRef, opt Options) (*Lamp, error) {
	p, err := openOutput(ref, opt)
	if err != nil {
		return nil, err
	}
	l, err := newLamp(ref.String(), p, opt.Clock)
	if err != nil {
		p.Close()
		return nil, err
	}
	return l, nil
}

// OpenHook requests ref as an input watched on both edges. button selects
// a bias for a bare switch (pull-up when active-low, else pull-down); an
// SLIC's SHK output needs none.
func OpenHook(ref boards.LineRef, debounce time.Duration, button bool, opt Options) (*Hook, error) {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	var h atomic.Pointer[Hook]
	handler := func(evt gc.LineEvent) {
		if hk := h.Load(); hk != nil {
			hk.edge(evt.Type == gc.LineEventRisingEdge)
		}
	}
	// Edges before h is stored are covered by the initial read in newHook.
	base := []gc.LineReqOption{gc.AsInput, gc.WithBothEdges, gc.WithEventHandler(handler)}
	if button {
		if ref.ActiveLow {
			base = append(base, gc.WithPullUp)
		} else {
			base = append(base, gc.WithPullDown)
		}
	}
	software := opt.SoftwareDebounce
	var l *gc.Line
	var err error
	if !software {
		l, err = request(ref, opt, append(base, gc.WithDebounce(debounce))...)
		var nf *LineNotFoundError
		if err != nil && !errors.As(err, &nf) {
			opt.logger().Info("kernel debounce refused; debouncing in software", "line", ref.String(), "err", err)
			software = true
		}
	}
	if software {
		l, err = request(ref, opt, base...)
	}
	if err != nil {
		return nil, err
	}
	hk, err := newHook(ref.String(), cdevPin{l}, opt.Clock, debounce, software)
	if err != nil {
		l.Close()
		return nil, err
	}
	h.Store(hk)
	return hk, nil
}

// OpenLine requests an FXS port's SLIC lines. hook (may be nil) guards
// ringing and HV against an off-hook handset.
func OpenLine(def boards.FXSDef, hook *Hook, opt Options) (*Line, error) {
	var pins []pin
	fail := func(err error) (*Line, error) {
		for _, p := range pins {
			p.Close()
		}
		return nil, err
	}
	get := func(ref boards.LineRef) (pin, error) {
		if !ref.IsSet() {
			return nil, nil
		}
		open := openOutput
		if ref == def.PD {
			open = openPD
		}
		p, err := open(ref, opt)
		if err == nil {
			pins = append(pins, p)
		}
		return p, err
	}
	rm, err := get(def.RM)
	if err != nil {
		return fail(err)
	}
	fr, err := get(def.FR)
	if err != nil {
		return fail(err)
	}
	pd, err := get(def.PD)
	if err != nil {
		return fail(err)
	}
	hv, err := get(def.HVRelay)
	if err != nil {
		return fail(err)
	}
	if rm == nil || fr == nil {
		return fail(errors.New("gpiocdev: fxs: rm and fr lines are required"))
	}
	l, err := newLine(rm, fr, pd, hv, def.RingHz, opt.Clock, hook)
	if err != nil {
		return fail(err)
	}
	return l, nil
}

// Open requests every GPIO line of a gpio-backend board: lamp, LEDs, hook
// (the board's button, or the SLIC's SHK) and the FXS line. Display and
// audio are not GPIO devices and stay nil. On error nothing stays requested.
func Open(b boards.Board, opt Options) (hal.Devices, error) {
	var closers []io.Closer
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i].Close()
		}
	}
	var d hal.Devices
	lamp, err := OpenLamp(b.Lamp, opt)
	if err != nil {
		return hal.Devices{}, fmt.Errorf("lamp: %w", err)
	}
	closers = append(closers, lamp)
	d.Lamp = lamp
	for i, ref := range b.LEDs {
		led, err := OpenLamp(ref, opt)
		if err != nil {
			cleanup()
			return hal.Devices{}, fmt.Errorf("leds[%d]: %w", i, err)
		}
		closers = append(closers, led)
		d.LEDs = append(d.LEDs, led)
	}
	debounce := opt.Debounce
	if debounce <= 0 && b.DebounceMS > 0 {
		debounce = time.Duration(b.DebounceMS) * time.Millisecond
	}
	var hook *Hook
	switch {
	case b.FXS != nil && b.FXS.SHK.IsSet():
		hook, err = OpenHook(b.FXS.SHK, debounce, false, opt)
		if err != nil {
			cleanup()
			return hal.Devices{}, fmt.Errorf("fxs.shk: %w", err)
		}
	case b.Hook.IsSet():
		hook, err = OpenHook(b.Hook, debounce, true, opt)
		if err != nil {
			cleanup()
			return hal.Devices{}, fmt.Errorf("hook: %w", err)
		}
	}
	if hook != nil {
		d.Hook = hook
	}
	if b.FXS != nil {
		line, err := OpenLine(*b.FXS, hook, opt)
		if err != nil {
			if hook != nil {
				hook.Close()
			}
			cleanup()
			return hal.Devices{}, fmt.Errorf("fxs: %w", err)
		}
		closers = append(closers, line)
		d.Line = line
	}
	if hook != nil {
		closers = append(closers, hook) // closed after the line that reads it
	}
	d.Closer = closeAll(closers)
	return d, nil
}
