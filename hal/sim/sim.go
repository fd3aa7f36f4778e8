package sim

import (
	"fmt"
	"image"
	"image/draw"
	"sync"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// Entry is one recorded output or input.
type Entry struct {
	At     time.Time `json:"at"`
	Device string    `json:"device"` // "lamp", "led1", "display", "hook", "line", "audio"
	What   string    `json:"what"`   // e.g. "pattern steady", "off-hook", "polarity reversed"
}

func (e Entry) String() string {
	return fmt.Sprintf("%s %s %s", e.At.Format("15:04:05.000"), e.Device, e.What)
}

// Recorder keeps the log shared by a board's devices and calls its
// OnChange functions when anything changed. Its zero value is not usable;
// use NewRecorder.
type Recorder struct {
	clock clock.Reader
	limit int

	mu       sync.Mutex
	entries  []Entry
	dropped  int
	onChange []func()
}

// NewRecorder returns a recorder keeping the newest limit entries (0 means
// 1000). clock may be nil.
func NewRecorder(clk clock.Reader, limit int) *Recorder {
	if limit <= 0 {
		limit = 1000
	}
	return &Recorder{clock: clock.ReaderOr(clk), limit: limit}
}

// Now is the recorder's clock.
func (r *Recorder) Now() time.Time { return r.clock.Now() }

func (r *Recorder) add(device, what string) time.Time {
	now := r.clock.Now()
	r.mu.Lock()
	r.entries = append(r.entries, Entry{At: now, Device: device, What: what})
	if len(r.entries) > r.limit {
		n := len(r.entries) - r.limit
		r.entries = append(r.entries[:0:0], r.entries[n:]...)
		r.dropped += n
	}
	fs := r.onChange
	r.mu.Unlock()
	for _, f := range fs {
		f()
	}
	return now
}

// Log returns a copy of the recorded entries, oldest first.
func (r *Recorder) Log() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Entry(nil), r.entries...)
}

// OnChange registers f to be called after every recorded change, outside
// the recorder's lock, on the goroutine that made the change; f must not
// block (the status page's latest.Signal.Notify does not).
func (r *Recorder) OnChange(f func()) {
	r.mu.Lock()
	r.onChange = append(r.onChange, f)
	r.mu.Unlock()
}

// Lamp is a simulated lamp or LED.
type Lamp struct {
	name string
	rec  *Recorder

	mu     sync.Mutex
	p      hal.Pattern
	since  time.Time
	closed bool
}

var _ hal.Lamp = (*Lamp)(nil)

// NewLamp returns a dark lamp that records to rec.
func NewLamp(name string, rec *Recorder) *Lamp {
	return &Lamp{name: name, rec: rec, p: hal.PatternOff, since: rec.Now()}
}

// SetPattern shows p from now on.
func (l *Lamp) SetPattern(p hal.Pattern) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("sim: %s: %w", l.name, hal.ErrClosed)
	}
	p.Cadence = append([]time.Duration(nil), p.Cadence...)
	l.p = p
	l.since = l.rec.add(l.name, "pattern "+describe(p))
	return nil
}

func describe(p hal.Pattern) string {
	s := p.Name
	if s == "" {
		s = "unnamed"
	}
	if len(p.Cadence) > 0 {
		s += fmt.Sprint(" ", p.Cadence)
	}
	return s
}

// Pattern returns the pattern shown and when it was set.
func (l *Lamp) Pattern() (hal.Pattern, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.p, l.since
}

// Lit reports whether the lamp is lit at the recorder clock's now.
func (l *Lamp) Lit() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.p.At(l.rec.Now().Sub(l.since))
}

// Close turns the lamp off and makes further SetPattern calls fail.
func (l *Lamp) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		l.p = hal.PatternOff
		l.since = l.rec.add(l.name, "closed")
	}
	return nil
}

// Display is a simulated display keeping the last frame.
type Display struct {
	name string
	info hal.DisplayInfo
	rec  *Recorder

	mu     sync.Mutex
	frame  hal.Frame
	seq    uint64
	closed bool
}

var _ hal.Display = (*Display)(nil)

// NewDisplay returns a blank display of the given kind and size.
func NewDisplay(name string, info hal.DisplayInfo, rec *Recorder) *Display {
	return &Display{name: name, info: info, rec: rec}
}

// Info describes the display.
func (d *Display) Info() hal.DisplayInfo { return d.info }

// Show keeps a copy of f.
func (d *Display) Show(f hal.Frame) error {
	c := hal.Frame{Text: append([]string(nil), f.Text...), Glyphs: append([][8]byte(nil), f.Glyphs...)}
	if f.Image != nil {
		img := image.NewRGBA(image.Rect(0, 0, f.Image.Bounds().Dx(), f.Image.Bounds().Dy()))
		draw.Draw(img, img.Bounds(), f.Image, f.Image.Bounds().Min, draw.Src)
		c.Image = img
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("sim: %s: %w", d.name, hal.ErrClosed)
	}
	d.frame = c
	d.seq++
	what := fmt.Sprintf("frame %d", d.seq)
	if len(c.Text) > 0 {
		what += fmt.Sprintf(" %q", c.Text)
	}
	d.rec.add(d.name, what)
	return nil
}

// Frame returns the frame shown and how many frames have been shown; the
// frame must not be modified.
func (d *Display) Frame() (hal.Frame, uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frame, d.seq
}

// Close blanks the display.
func (d *Display) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		d.rec.add(d.name, "closed")
	}
	return nil
}

// Hook is a simulated hook switch moved with Set.
type Hook struct {
	name string
	rec  *Recorder
	ch   chan hal.HookEvent

	mu      sync.Mutex
	offHook bool
	closed  bool
}

var _ hal.Hook = (*Hook)(nil)

// hookQueue is how many events may wait unread before Set fails.
const hookQueue = 64

// NewHook returns an on-hook switch.
func NewHook(name string, rec *Recorder) *Hook {
	return &Hook{name: name, rec: rec, ch: make(chan hal.HookEvent, hookQueue)}
}

// Events delivers changes in order; closed by Close.
func (h *Hook) Events() <-chan hal.HookEvent { return h.ch }

// OffHook reports the current state.
func (h *Hook) OffHook() (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false, fmt.Errorf("sim: %s: %w", h.name, hal.ErrClosed)
	}
	return h.offHook, nil
}

// Set moves the switch. Setting the current state again records nothing
// and sends no event. It fails when the device is closed or when 64 events
// wait unread (it never blocks).
func (h *Hook) Set(offHook bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return fmt.Errorf("sim: %s: %w", h.name, hal.ErrClosed)
	}
	if offHook == h.offHook {
		return nil
	}
	what := "on-hook"
	if offHook {
		what = "off-hook"
	}
	ev := hal.HookEvent{OffHook: offHook, At: h.rec.Now()}
	select {
	case h.ch <- ev:
	default:
		return fmt.Errorf("sim: %s: %d events unread, dropping %s", h.name, hookQueue, what)
	}
	h.offHook = offHook
	h.rec.add(h.name, what)
	return nil
}

// Close closes the event channel.
func (h *Hook) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.ch)
		h.rec.add(h.name, "closed")
	}
	return nil
}

// LineState is a simulated FXS line's outputs.
type LineState struct {
	Polarity    hal.Polarity `json:"-"`
	Reversed    bool         `json:"reversed"`
	HighVoltage bool         `json:"high_voltage"`
	Ring        bool         `json:"ring"`
}

// Line is a simulated FXS line.
type Line struct {
	name string
	rec  *Recorder

	mu     sync.Mutex
	st     LineState
	closed bool
}

var _ hal.Line = (*Line)(nil)

// NewLine returns a line with forward polarity, no HV, not ringing.
func NewLine(name string, rec *Recorder) *Line { return &Line{name: name, rec: rec} }

func (l *Line) change(what string, f func(*LineState)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("sim: %s: %w", l.name, hal.ErrClosed)
	}
	f(&l.st)
	l.st.Reversed = l.st.Polarity == hal.PolarityReversed
	l.rec.add(l.name, what)
	return nil
}

// SetPolarity sets the loop polarity.
func (l *Line) SetPolarity(p hal.Polarity) error {
	return l.change("polarity "+p.String(), func(s *LineState) { s.Polarity = p })
}

// SetHighVoltage switches the neon MWI voltage.
func (l *Line) SetHighVoltage(on bool) error {
	return l.change(fmt.Sprintf("high-voltage %v", onOff(on)), func(s *LineState) { s.HighVoltage = on })
}

// SetRing starts or stops ringing.
func (l *Line) SetRing(on bool) error {
	return l.change(fmt.Sprintf("ring %v", onOff(on)), func(s *LineState) { s.Ring = on })
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// State returns the line's outputs.
func (l *Line) State() LineState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

// Close returns the line to forward polarity, no HV, no ring.
func (l *Line) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		l.st = LineState{}
		l.rec.add(l.name, "closed")
	}
	return nil
}

// Audio is a simulated audio sink: it counts samples and keeps the last
// second of audio. Write returns at once.
type Audio struct {
	name string
	rate int
	rec  *Recorder

	mu      sync.Mutex
	samples int
	tail    []int16
	closed  bool
}

var _ hal.AudioSink = (*Audio)(nil)

// NewAudio returns a sink at rate samples per second (0 means 8000).
func NewAudio(name string, rate int, rec *Recorder) *Audio {
	if rate <= 0 {
		rate = 8000
	}
	return &Audio{name: name, rate: rate, rec: rec}
}

// Write consumes pcm.
func (a *Audio) Write(pcm []int16) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, fmt.Errorf("sim: %s: %w", a.name, hal.ErrClosed)
	}
	a.samples += len(pcm)
	a.tail = append(a.tail, pcm...)
	if len(a.tail) > a.rate {
		a.tail = append(a.tail[:0:0], a.tail[len(a.tail)-a.rate:]...)
	}
	a.rec.add(a.name, fmt.Sprintf("%d samples", len(pcm)))
	return len(pcm), nil
}

// Rate is the sample rate.
func (a *Audio) Rate() int { return a.rate }

// Samples returns how many samples were written in total and a copy of
// the last second of them.
func (a *Audio) Samples() (int, []int16) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.samples, append([]int16(nil), a.tail...)
}

// Close makes further writes fail.
func (a *Audio) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.closed = true
		a.rec.add(a.name, "closed")
	}
	return nil
}
