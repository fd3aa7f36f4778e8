package boards

import "fmt"

// Overrides replace parts of a built-in board, from the config's
// board_overrides. A nil or empty field keeps the board's value.
//
//	board: devboard-leds
//	board_overrides:
//	  lamp: {name: GPIO4, active_low: true}
//	  leds: [{name: GPIO5}, {name: GPIO6}]
//	  no_display: true
type Overrides struct {
	Lamp      *LineRef    `yaml:"lamp" json:"lamp,omitempty"`
	LEDs      []LineRef   `yaml:"leds" json:"leds,omitempty"` // replaces the whole list
	Hook      *LineRef    `yaml:"hook" json:"hook,omitempty"`
	Display   *DisplayDef `yaml:"display" json:"display,omitempty"`
	NoDisplay bool        `yaml:"no_display" json:"no_display,omitempty"` // the board has no display fitted
	FXS       *FXSLines   `yaml:"fxs" json:"fxs,omitempty"`
	Country   string      `yaml:"country" json:"country,omitempty"`
}

// FXSLines overrides an FXS port's lines and audio device.
type FXSLines struct {
	RM       *LineRef `yaml:"rm" json:"rm,omitempty"`
	FR       *LineRef `yaml:"fr" json:"fr,omitempty"`
	SHK      *LineRef `yaml:"shk" json:"shk,omitempty"`
	PD       *LineRef `yaml:"pd" json:"pd,omitempty"`
	HVRelay  *LineRef `yaml:"hv_relay" json:"hv_relay,omitempty"`
	AudioDev string   `yaml:"audio_device" json:"audio_device,omitempty"`
}

// With returns b with o applied, validated. The built-in board is not
// modified. Errors name the override field.
func (b Board) With(o Overrides) (Board, error) {
	out := b
	out.LEDs = append([]LineRef(nil), b.LEDs...)
	if o.Lamp != nil {
		out.Lamp = *o.Lamp
	}
	if o.LEDs != nil {
		out.LEDs = append([]LineRef(nil), o.LEDs...)
	}
	if o.Hook != nil {
		out.Hook = *o.Hook
	}
	if o.Display != nil && o.NoDisplay {
		return Board{}, fmt.Errorf("boards: board_overrides: display and no_display both set")
	}
	if o.Display != nil {
		d := *o.Display
		out.Display = &d
	}
	if o.NoDisplay {
		out.Display = nil
	}
	if o.Country != "" {
		out.Country = o.Country
	}
	if f := o.FXS; f != nil {
		if b.FXS == nil {
			return Board{}, fmt.Errorf("boards: board_overrides.fxs: board %s has no FXS port", b.Name)
		}
		x := *b.FXS
		x.Signalling = append([]Signalling(nil), b.FXS.Signalling...)
		for _, r := range []struct {
			o *LineRef
			p *LineRef
		}{{f.RM, &x.RM}, {f.FR, &x.FR}, {f.SHK, &x.SHK}, {f.PD, &x.PD}, {f.HVRelay, &x.HVRelay}} {
			if r.o != nil {
				*r.p = *r.o
			}
		}
		if f.AudioDev != "" {
			x.AudioDev = f.AudioDev
		}
		if f.HVRelay != nil && f.HVRelay.IsSet() && !hasSig(x.Signalling, SigHV) {
			x.Signalling = append(x.Signalling, SigHV)
		}
		out.FXS = &x
	}
	if err := out.Validate(); err != nil {
		return Board{}, fmt.Errorf("boards: board_overrides: %w", err)
	}
	return out, nil
}

func hasSig(list []Signalling, s Signalling) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
