package hal

import (
	"errors"
	"image"
	"io"
	"time"
)

// ErrClosed is returned by a device that has been closed. A closed device
// never blocks.
var ErrClosed = errors.New("hal: device closed")

// Pattern is what a lamp or LED shows: off, steady on, or a repeating cadence.
//
// Cadence alternates on and off durations, starting with on, and repeats from
// the start. An empty Cadence means the lamp is steadily On (or off).
// Name is for logs and the status page ("off", "steady", "urgent", ...).
type Pattern struct {
	Name    string
	On      bool
	Cadence []time.Duration
}

// Common patterns. The indicator policy in the agent decides which is used.
var (
	PatternOff    = Pattern{Name: "off"}
	PatternSteady = Pattern{Name: "steady", On: true}
)

// Blink returns a repeating on/off pattern.
func Blink(name string, on, off time.Duration) Pattern {
	return Pattern{Name: name, Cadence: []time.Duration{on, off}}
}

// Equal reports whether p and q light a lamp identically.
func (p Pattern) Equal(q Pattern) bool {
	if p.Name != q.Name || len(p.Cadence) != len(q.Cadence) {
		return false
	}
	if len(p.Cadence) == 0 {
		return p.On == q.On
	}
	for i := range p.Cadence {
		if p.Cadence[i] != q.Cadence[i] {
			return false
		}
	}
	return true
}

// Period is the length of one cadence cycle, 0 for a steady pattern.
func (p Pattern) Period() time.Duration {
	var d time.Duration
	for _, c := range p.Cadence {
		d += c
	}
	return d
}

// At reports whether the lamp is lit at elapsed time t since the pattern was
// applied. It is the single definition of a pattern's timing that every
// backend and the status page share.
func (p Pattern) At(t time.Duration) bool {
	period := p.Period()
	if period <= 0 {
		return p.On && len(p.Cadence) == 0
	}
	if t < 0 {
		t = 0
	}
	t %= period
	for i, c := range p.Cadence {
		if t < c {
			return i%2 == 0
		}
		t -= c
	}
	return false
}

// Lamp is the message-waiting lamp, or one per-account indicator LED.
type Lamp interface {
	SetPattern(Pattern) error
}

// DisplayKind tells graphic displays from character LCDs.
type DisplayKind int

const (
	DisplayGraphic DisplayKind = iota // 1-bit pixels, e.g. SSD1306 128x64
	DisplayText                       // character cells, e.g. HD44780 16x2
)

// DisplayInfo describes a display: pixels for graphic, characters for text.
type DisplayInfo struct {
	Kind          DisplayKind
	Width, Height int
}

// Frame is one complete picture for a display. Graphic displays use Image
// (any pixel that is not black is lit). Text displays use Text, one string per
// row, where bytes 0x00-0x07 select the custom characters in Glyphs (the
// HD44780's CGRAM, 5x8 dots, one byte per row, low 5 bits used).
type Frame struct {
	Image  image.Image
	Text   []string
	Glyphs [][8]byte
}

// Display shows frames. Show may drop a frame that is superseded by a newer
// one before it reaches the hardware, but must never block the caller for
// longer than it takes to hand the frame off.
type Display interface {
	Info() DisplayInfo
	Show(Frame) error
}

// HookEvent is a change of the hook switch.
type HookEvent struct {
	OffHook bool
	At      time.Time
}

// Hook is the hook switch of a handset (or a push button standing in for it).
// Events delivers changes in order; the channel is closed when the device is
// closed. OffHook reports the current state.
type Hook interface {
	Events() <-chan HookEvent
	OffHook() (bool, error)
}

// Polarity of an FXS loop.
type Polarity int

const (
	PolarityForward Polarity = iota
	PolarityReversed
)

func (p Polarity) String() string {
	if p == PolarityReversed {
		return "reversed"
	}
	return "forward"
}

// Line is the signalling side of an FXS port (the SLIC). Audio goes through
// an AudioSink.
type Line interface {
	SetPolarity(Polarity) error
	SetHighVoltage(on bool) error // neon-lamp MWI voltage, only while on-hook
	SetRing(on bool) error
}

// AudioSink plays 16-bit signed mono PCM at the sink's sample rate
// (8000 Hz unless the backend says otherwise). Write blocks at most for the
// duration of the audio it is given.
type AudioSink interface {
	Write(pcm []int16) (int, error)
}

// TimedSink is an AudioSink that plays on the line's timeline: its buffer
// is short, so Write blocks once it holds Latency of audio (the sink paces
// its writer), playback starts with the first sample written, Drain returns
// when everything written has been played, and Flush drops what has not
// been played, at once. The FXS port drains before each line step that
// follows audio and flushes when the handset is lifted.
type TimedSink interface {
	AudioSink
	Latency() time.Duration
	Drain() error
	Flush() error
}

// Devices is the set of devices a board provides; any may be nil.
// Closer releases them all, leaving the lamp in its safe state.
type Devices struct {
	Lamp    Lamp
	LEDs    []Lamp // per-account indicators, in board order
	Display Display
	Hook    Hook
	Line    Line
	Audio   AudioSink
	Closer  io.Closer
}

// Close releases every device. It is safe on a zero Devices.
func (d Devices) Close() error {
	if d.Closer == nil {
		return nil
	}
	return d.Closer.Close()
}
