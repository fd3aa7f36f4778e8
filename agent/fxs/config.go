package fxs

import (
	"errors"
	"fmt"
	"slices"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/tone"
)

// ConfigFrom builds a port's Config from the board's FXS definition and the
// fxs: and tones: sections of the configuration. The signalling used is
// what the configuration asks for; asking for something the board cannot do
// is an error naming the field.
func ConfigFrom(b boards.Board, fc config.FXSConfig, tc config.ToneConfig) (Config, error) {
	if b.FXS == nil {
		return Config{}, fmt.Errorf("fxs: board %s has no FXS port", b.Name)
	}
	var errs []error
	var c Config
	for i, s := range fc.Signalling {
		sig := boards.Signalling(s)
		if !slices.Contains(b.FXS.Signalling, sig) {
			errs = append(errs, fmt.Errorf("fxs.signalling[%d]: %q is not supported by board %s (it has %v)", i, s, b.Name, b.FXS.Signalling))
			continue
		}
		switch sig {
		case boards.SigPolarity:
			c.Polarity = true
		case boards.SigHV:
			c.HV = true
		case boards.SigFSK:
			c.FSK = true
		case boards.SigStutter:
			c.Stutter = true
		}
	}
	var err error
	code := tc.Country
	if code == "" {
		code = b.Country
	}
	if code == "" {
		code = "us"
	}
	if c.Country, err = tone.LookupCountry(code); err != nil {
		errs = append(errs, fmt.Errorf("tones.country: %w", err))
	} else if len(tc.Overrides) > 0 {
		if c.Country, err = c.Country.WithOverrides(tc.Overrides); err != nil {
			errs = append(errs, fmt.Errorf("tones.overrides: %w", err))
		}
	}
	// FSK standard, message format and alert: what the configuration says,
	// else the country's on-hook data defaults (V.23 with an alert in
	// Europe, Bell 202 in North America; docs/tone.md).
	on := c.Country.OnHook
	if on.Source == "" {
		on = tone.OnHookData{Standard: tone.Bell202, Format: tone.MDMF, Alert: tone.AlertNone}
	}
	c.Format, c.Standard, c.Alert = on.Format, on.Standard, on.Alert
	if fc.FSKFormat != "" {
		if c.Format, err = tone.ParseFormat(fc.FSKFormat); err != nil {
			errs = append(errs, fmt.Errorf("fxs.fsk_format: %w", err))
		}
	}
	if fc.FSKStandard != "" {
		if c.Standard, err = tone.ParseStandard(fc.FSKStandard); err != nil {
			errs = append(errs, fmt.Errorf("fxs.fsk_standard: %w", err))
		}
	}
	if fc.Alert != "" {
		if c.Alert, err = tone.ParseAlert(fc.Alert); err != nil {
			errs = append(errs, fmt.Errorf("fxs.alert: %w", err))
		}
	}
	c.Quiet, c.Refresh, c.DialTimeout = fc.Quiet, fc.Refresh, fc.DialTimeout
	c.FlashMin, c.FlashMax = fc.FlashMin, fc.FlashMax
	return c, errors.Join(errs...)
}
