package config

import (
	"fmt"
	"slices"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/fxs"
	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/tone"
)

// The values of the fxs: enums; fmt.Sprint names them as the file and
// docs/config.md do.
var (
	fxsSignalling = []boards.Signalling{boards.SigPolarity, boards.SigFSK, boards.SigStutter, boards.SigHV}
	fxsFormats    = []tone.Format{tone.SDMF, tone.MDMF, tone.ETSI}
	fxsStandards  = []tone.Standard{tone.Bell202, tone.V23}
	fxsAlerts     = []tone.Alert{tone.AlertNone, tone.AlertLineReversal, tone.AlertDTAS, tone.AlertRingPulse}
)

// pick returns the value in vals whose name (fmt.Sprint: its String, or
// the string itself) is value; otherwise it adds field's error ("want a, b
// or c, not ...") and returns false.
func pick[T any](v *validator, field, value string, vals []T) (T, bool) {
	names := make([]string, len(vals))
	for i, x := range vals {
		if names[i] = fmt.Sprint(x); names[i] == value {
			return x, true
		}
	}
	v.add(field, value, "want "+orList(names)+", not")
	var zero T
	return zero, false
}

// Hook-flash bounds accepted in fxs.flash_min and fxs.flash_max.
const (
	flashMinLow, flashMinHigh = 20 * time.Millisecond, time.Second
	flashMaxLow, flashMaxHigh = 100 * time.Millisecond, 3 * time.Second
)

// resolveFXS checks the fxs: section against board b (when boardOK) and
// returns the port's typed configuration, with the enums the file leaves
// out taken from country's on-hook data defaults and the durations it
// leaves at 0 set to the port's defaults. Validate calls it with the zero
// Country and drops the result; Resolve with the resolved tone country.
// Each broken field adds one error and leaves its typed value at the
// default.
func (c *Config) resolveFXS(v *validator, b boards.Board, boardOK bool, country tone.Country) fxs.Config {
	f := c.FXS
	on := fxs.DataDefaults(country)
	out := fxs.Config{Format: on.Format, Standard: on.Standard, Alert: on.Alert, Country: country}
	seen := map[string]bool{}
	for i, s := range f.Signalling {
		field := fmt.Sprintf("fxs.signalling[%d]", i)
		if seen[s] {
			v.add(field, s, "listed twice:")
			continue
		}
		seen[s] = true
		sig, ok := pick(v, field, s, fxsSignalling)
		if !ok || !boardOK || b.FXS == nil {
			continue
		}
		switch {
		case !slices.Contains(b.FXS.Signalling, sig):
			v.add(field, s, fmt.Sprintf("board %q cannot do", b.Name))
			continue
		case sig == boards.SigHV && !b.FXS.HVRelay.IsSet() && b.Backend != boards.BackendSim:
			v.add(field, s, fmt.Sprintf("board %q has no hv_relay line for", b.Name))
			continue
		}
		switch sig {
		case boards.SigPolarity:
			out.Polarity = true
		case boards.SigHV:
			out.HV = true
		case boards.SigFSK:
			out.FSK = true
		case boards.SigStutter:
			out.Stutter = true
		}
	}
	// Empty: the tone country's on-hook data defaults (docs/tone.md).
	if f.FSKFormat != "" {
		if x, ok := pick(v, "fxs.fsk_format", f.FSKFormat, fxsFormats); ok {
			out.Format = x
		}
	}
	if f.FSKStandard != "" {
		if x, ok := pick(v, "fxs.fsk_standard", f.FSKStandard, fxsStandards); ok {
			out.Standard = x
		}
	}
	if f.Alert != "" {
		if x, ok := pick(v, "fxs.alert", f.Alert, fxsAlerts); ok {
			out.Alert = x
		}
	}
	// Hook flash bounds (0 = what ATAs ship with, fxs.DefaultFlashMin/Max).
	out.FlashMin, out.FlashMax = f.FlashMin, f.FlashMax
	if out.FlashMin == 0 {
		out.FlashMin = fxs.DefaultFlashMin
	}
	if out.FlashMax == 0 {
		out.FlashMax = fxs.DefaultFlashMax
	}
	switch {
	case f.FlashMin < 0 || (f.FlashMin > 0 && f.FlashMin < flashMinLow) || f.FlashMin > flashMinHigh:
		v.add("fxs.flash_min", f.FlashMin.String(), fmt.Sprintf("want %v..%v (0 = %v), not", flashMinLow, flashMinHigh, fxs.DefaultFlashMin))
		out.FlashMin = fxs.DefaultFlashMin
	case f.FlashMax < 0 || (f.FlashMax > 0 && f.FlashMax < flashMaxLow) || f.FlashMax > flashMaxHigh:
		v.add("fxs.flash_max", f.FlashMax.String(), fmt.Sprintf("want %v..%v (0 = %v), not", flashMaxLow, flashMaxHigh, fxs.DefaultFlashMax))
		out.FlashMax = fxs.DefaultFlashMax
	case out.FlashMin >= out.FlashMax:
		v.add("fxs.flash_max", f.FlashMax.String(), "must be longer than fxs.flash_min ("+out.FlashMin.String()+"):")
	}
	v.duration("fxs.quiet", f.Quiet, 0)
	v.duration("fxs.refresh", f.Refresh, 0)
	v.duration("fxs.dial_timeout", f.DialTimeout, time.Second)
	out.Quiet, out.Refresh, out.DialTimeout = f.Quiet, f.Refresh, f.DialTimeout
	return out
}
