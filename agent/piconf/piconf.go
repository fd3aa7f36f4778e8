package piconf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mwi-agent/mwi-agent/boards"
)

// GPIONumber returns the BCM number of a Raspberry Pi line named "GPIOn".
func GPIONumber(l boards.LineRef) (int, error) {
	s, ok := strings.CutPrefix(l.Name, "GPIO")
	if !ok || s == "" {
		return 0, fmt.Errorf("piconf: line %s: not a GPIOn name", l)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 57 {
		return 0, fmt.Errorf("piconf: line %s: not a Raspberry Pi GPIO", l)
	}
	return n, nil
}

// ConfigTxt returns the config.txt lines for board b, comments included,
// ending with a return to the [all] section. A board without Raspberry Pi
// hardware (the sim board) is an error.
func ConfigTxt(b boards.Board) ([]string, error) {
	if b.Backend != boards.BackendGPIO {
		return nil, fmt.Errorf("piconf: board %s: backend %s has no Raspberry Pi hardware to configure", b.Name, b.Backend)
	}
	out := []string{"# mwi-agent: board " + b.Name + " (added by scripts/flash.sh)", "[all]"}
	var errs []error
	if d := b.Display; d != nil && d.Bus != "" {
		switch d.Bus {
		case "1", "/dev/i2c-1":
			out = append(out, fmt.Sprintf("# %s display on I2C bus 1 (GPIO2 SDA, GPIO3 SCL), address 0x%02X", d.Driver, d.Address),
				"dtparam=i2c_arm=on")
		default:
			errs = append(errs, fmt.Errorf("piconf: board %s: display bus %q: only bus 1 (i2c_arm) is configured automatically", b.Name, d.Bus))
		}
	}
	if f := b.FXS; f != nil && f.AudioDev != "" {
		out = append(out, "# FXS audio (tones, FSK) through ALSA device "+strconv.Quote(f.AudioDev), "dtparam=audio=on")
	}
	gpio := func(what string, l boards.LineRef, mode string) {
		if !l.IsSet() {
			return
		}
		n, err := GPIONumber(l)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w (%s)", err, what))
			return
		}
		out = append(out, "# "+what, fmt.Sprintf("gpio=%d=%s", n, mode))
	}
	// Outputs start inactive: driven low, or high when active low.
	off := func(l boards.LineRef) string {
		if l.ActiveLow {
			return "op,dh"
		}
		return "op,dl"
	}
	gpio("message lamp, off until the agent runs", b.Lamp, off(b.Lamp))
	for i, l := range b.LEDs {
		gpio(fmt.Sprintf("account LED %d, off", i+1), l, off(l))
	}
	if b.Hook.IsSet() {
		// A contact to ground (active low) needs a pull-up; to 3V3 a pull-down.
		pull := "ip,pd"
		if b.Hook.ActiveLow {
			pull = "ip,pu"
		}
		gpio("hook switch input", b.Hook, pull)
	}
	if f := b.FXS; f != nil {
		gpio("SLIC RM (ring mode): not ringing", f.RM, off(f.RM))
		fwd := "op,dh" // high = forward polarity
		if f.FR.ActiveLow {
			fwd = "op,dl"
		}
		gpio("SLIC F/R: forward polarity", f.FR, fwd)
		gpio("SLIC SHK (off-hook detect) input", f.SHK, "ip,np")
		gpio("HV MWI relay, off", f.HVRelay, off(f.HVRelay))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
