package boards

import (
	"errors"
	"fmt"
	"sort"
)

// Backend names the family of hardware backends a board needs.
type Backend string

const (
	BackendSim  Backend = "sim"  // in-memory, desktop and tests
	BackendGPIO Backend = "gpio" // Linux GPIO character device (+ periph I2C)
)

// LineRef names one GPIO line. Name is the kernel line name (e.g. "GPIO22"),
// found on whichever chip has it; Chip/Offset is the fallback when the kernel
// does not name lines.
type LineRef struct {
	Name      string `yaml:"name" json:"name,omitempty"`
	Chip      string `yaml:"chip" json:"chip,omitempty"`
	Offset    int    `yaml:"offset" json:"offset,omitempty"`
	ActiveLow bool   `yaml:"active_low" json:"active_low,omitempty"`
}

// IsSet reports whether the line is configured at all.
func (l LineRef) IsSet() bool { return l.Name != "" || l.Chip != "" }

func (l LineRef) String() string {
	if l.Name != "" {
		return l.Name
	}
	if l.Chip != "" {
		return fmt.Sprintf("%s:%d", l.Chip, l.Offset)
	}
	return "(unset)"
}

// DisplayDef describes a display module on an I2C bus.
type DisplayDef struct {
	Driver   string `yaml:"driver" json:"driver"` // "ssd1306" or "hd44780-pcf8574"
	Bus      string `yaml:"bus" json:"bus"`       // periph I2C bus name, e.g. "1" or "/dev/i2c-1"
	Address  uint16 `yaml:"address" json:"address"`
	Width    int    `yaml:"width" json:"width"`   // pixels (graphic) or characters (text)
	Height   int    `yaml:"height" json:"height"` // pixels (graphic) or rows (text)
	Rotation int    `yaml:"rotation" json:"rotation,omitempty"`
}

// Signalling is a kind of FXS message-waiting signalling.
type Signalling string

const (
	SigPolarity Signalling = "polarity" // line reversal while messages wait
	SigFSK      Signalling = "fsk"      // on-hook visual MWI data
	SigStutter  Signalling = "stutter"  // stutter dial tone on off-hook
	SigHV       Signalling = "hv"       // neon lamp voltage (needs an HV relay line)
)

// FXSDef describes an analog line port driven through an Ag1171-style SLIC.
type FXSDef struct {
	RM         LineRef      `yaml:"rm" json:"rm"`                 // ring mode, high = ring
	FR         LineRef      `yaml:"fr" json:"fr"`                 // forward/reverse, high = forward
	SHK        LineRef      `yaml:"shk" json:"shk"`               // switch hook, high = off-hook
	PD         LineRef      `yaml:"pd" json:"pd"`                 // power down, optional: open-drain, low = powered down, never driven high
	HVRelay    LineRef      `yaml:"hv_relay" json:"hv_relay"`     // external HV MWI relay, optional
	RingHz     int          `yaml:"ring_hz" json:"ring_hz"`       // 20 or 25
	AudioDev   string       `yaml:"audio_device" json:"audio"`    // ALSA device name
	Signalling []Signalling `yaml:"signalling" json:"signalling"` // what this port can do
}

// Board is one supported board.
type Board struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Backend     Backend     `json:"backend"`
	Lamp        LineRef     `json:"lamp"`
	LEDs        []LineRef   `json:"leds,omitempty"`
	Hook        LineRef     `json:"hook"` // hook switch or push button (boards without a SLIC)
	Display     *DisplayDef `json:"display,omitempty"`
	FXS         *FXSDef     `json:"fxs,omitempty"`
	Country     string      `json:"country"` // default tone country
	DebounceMS  int         `json:"debounce_ms"`
}

var all = []Board{
	{
		Name:        "sim",
		Description: "desktop simulator: lamp, 4 account LEDs, 128x64 display, hook switch and FXS line in memory",
		Backend:     BackendSim,
		Lamp:        LineRef{Name: "LAMP"},
		LEDs:        []LineRef{{Name: "LED1"}, {Name: "LED2"}, {Name: "LED3"}, {Name: "LED4"}},
		Hook:        LineRef{Name: "HOOK"},
		Display:     &DisplayDef{Driver: "sim", Width: 128, Height: 64},
		FXS: &FXSDef{
			RM: LineRef{Name: "RM"}, FR: LineRef{Name: "FR"}, SHK: LineRef{Name: "SHK"},
			RingHz:     20,
			Signalling: []Signalling{SigPolarity, SigFSK, SigStutter, SigHV},
		},
		Country:    "us",
		DebounceMS: 20,
	},
	{
		Name:        "devboard-leds",
		Description: "Raspberry Pi with a lamp LED, four account LEDs, a push button as hook switch and an optional SSD1306",
		Backend:     BackendGPIO,
		Lamp:        LineRef{Name: "GPIO22"},
		LEDs:        []LineRef{{Name: "GPIO23"}, {Name: "GPIO24"}, {Name: "GPIO25"}, {Name: "GPIO17"}},
		Hook:        LineRef{Name: "GPIO27", ActiveLow: true}, // button to ground, pull-up
		Display:     &DisplayDef{Driver: "ssd1306", Bus: "1", Address: 0x3C, Width: 128, Height: 64},
		Country:     "us",
		DebounceMS:  20,
	},
	{
		Name:        "rpi-ata",
		Description: "Raspberry Pi ATA with a Silvertel Ag1171 SLIC for one analog phone, a lamp LED and an SSD1306",
		Backend:     BackendGPIO,
		Lamp:        LineRef{Name: "GPIO22"},
		Display:     &DisplayDef{Driver: "ssd1306", Bus: "1", Address: 0x3C, Width: 128, Height: 64},
		FXS: &FXSDef{
			RM:         LineRef{Name: "GPIO5"},
			FR:         LineRef{Name: "GPIO12"},
			SHK:        LineRef{Name: "GPIO6"},
			PD:         LineRef{Name: "GPIO26"},
			RingHz:     20,
			AudioDev:   "hw:Headphones,0", // the Pi's analog out; opened directly by hal/alsa
			Signalling: []Signalling{SigPolarity, SigFSK, SigStutter},
		},
		Country:    "us",
		DebounceMS: 20,
	},
}

// All returns every built-in board, sorted by name. The slice is a copy.
func All() []Board {
	out := make([]Board, len(all))
	copy(out, all)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds a built-in board by name.
func Lookup(name string) (Board, error) {
	for _, b := range all {
		if b.Name == name {
			return b, nil
		}
	}
	names := ""
	for i, b := range All() {
		if i > 0 {
			names += ", "
		}
		names += b.Name
	}
	return Board{}, fmt.Errorf("boards: unknown board %q (known: %s)", name, names)
}

// Validate checks that no line is used twice and that the functions a board
// claims have the lines they need. It returns every problem at once.
func (b Board) Validate() error {
	var errs []error
	if b.Name == "" {
		errs = append(errs, errors.New("boards: name is empty"))
	}
	if b.Backend != BackendSim && b.Backend != BackendGPIO {
		errs = append(errs, fmt.Errorf("boards: %s: backend: unknown %q", b.Name, b.Backend))
	}
	used := map[string]string{}
	use := func(what string, l LineRef) {
		if !l.IsSet() {
			return
		}
		key := l.String()
		if prev, ok := used[key]; ok {
			errs = append(errs, fmt.Errorf("boards: %s: %s: line %s already used by %s", b.Name, what, key, prev))
			return
		}
		used[key] = what
	}
	if !b.Lamp.IsSet() {
		errs = append(errs, fmt.Errorf("boards: %s: lamp: no line", b.Name))
	}
	use("lamp", b.Lamp)
	for i, l := range b.LEDs {
		use(fmt.Sprintf("leds[%d]", i), l)
	}
	use("hook", b.Hook)
	if d := b.Display; d != nil {
		if d.Width <= 0 || d.Height <= 0 {
			errs = append(errs, fmt.Errorf("boards: %s: display: size %dx%d", b.Name, d.Width, d.Height))
		}
		if b.Backend == BackendGPIO && (d.Address == 0 || d.Bus == "") {
			errs = append(errs, fmt.Errorf("boards: %s: display: needs bus and address", b.Name))
		}
	}
	if f := b.FXS; f != nil {
		for _, l := range []struct {
			what string
			ref  LineRef
			need bool
		}{{"fxs.rm", f.RM, true}, {"fxs.fr", f.FR, true}, {"fxs.shk", f.SHK, true}, {"fxs.pd", f.PD, false}, {"fxs.hv_relay", f.HVRelay, false}} {
			if l.need && !l.ref.IsSet() {
				errs = append(errs, fmt.Errorf("boards: %s: %s: no line", b.Name, l.what))
			}
			use(l.what, l.ref)
		}
		if f.PD.ActiveLow {
			errs = append(errs, fmt.Errorf("boards: %s: fxs.pd: active_low is not allowed: PD (Ag1171 pin 14) is pulled low open-drain to power down and never driven high", b.Name))
		}
		if f.RingHz != 20 && f.RingHz != 25 {
			errs = append(errs, fmt.Errorf("boards: %s: fxs.ring_hz: %d (want 20 or 25)", b.Name, f.RingHz))
		}
		for _, s := range f.Signalling {
			switch s {
			case SigPolarity, SigFSK, SigStutter:
			case SigHV:
				if !f.HVRelay.IsSet() && b.Backend != BackendSim {
					errs = append(errs, fmt.Errorf("boards: %s: fxs.signalling: %q needs fxs.hv_relay", b.Name, s))
				}
			default:
				errs = append(errs, fmt.Errorf("boards: %s: fxs.signalling: unknown %q", b.Name, s))
			}
		}
	}
	return errors.Join(errs...)
}
