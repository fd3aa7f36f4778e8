package fxs

import (
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/tone"
)

func TestConfigFrom(t *testing.T) {
	b, _ := boards.Lookup("rpi-ata")
	def := config.Default()
	c, err := ConfigFrom(b, def.FXS, def.Tones)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Polarity || !c.FSK || !c.Stutter || c.HV || c.Format != tone.MDMF || c.Standard != tone.Bell202 || c.Quiet != 3*time.Second || c.Country.Code != "us" {
		t.Fatalf("config %+v", c)
	}
	fc := def.FXS
	fc.Signalling = []string{"fsk", "hv"}
	fc.FSKFormat = "xdmf"
	_, err = ConfigFrom(b, fc, config.ToneConfig{Country: "zz"})
	for _, want := range []string{`fxs.signalling[1]: "hv" is not supported by board rpi-ata`, "fxs.fsk_format:", "tones.country:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %q", err, want)
		}
	}
}

// The FSK standard, format and alert follow the tone country unless the
// configuration sets them; the flash bounds come from the configuration.
func TestConfigFromCountryDefaults(t *testing.T) {
	b, _ := boards.Lookup("rpi-ata")
	def := config.Default()
	for _, c := range []struct {
		country string
		fc      func(*config.FXSConfig)
		std     tone.Standard
		format  tone.Format
		alert   tone.Alert
	}{
		{"us", nil, tone.Bell202, tone.MDMF, tone.AlertNone},
		{"de", nil, tone.V23, tone.ETSI, tone.AlertLineReversal},
		{"uk", nil, tone.V23, tone.ETSI, tone.AlertLineReversal},
		{"se", nil, tone.V23, tone.ETSI, tone.AlertLineReversal},
		{"de", func(f *config.FXSConfig) { f.Alert, f.FSKStandard = "dt-as", "bell202" }, tone.Bell202, tone.ETSI, tone.AlertDTAS},
	} {
		fc := def.FXS
		if c.fc != nil {
			c.fc(&fc)
		}
		fc.FlashMin, fc.FlashMax = 150*time.Millisecond, 1200*time.Millisecond
		got, err := ConfigFrom(b, fc, config.ToneConfig{Country: c.country})
		if err != nil {
			t.Fatal(err)
		}
		if got.Standard != c.std || got.Format != c.format || got.Alert != c.alert || got.FlashMin != fc.FlashMin || got.FlashMax != fc.FlashMax {
			t.Errorf("%s: %v %v %v flash %v..%v; want %v %v %v", c.country, got.Standard, got.Format, got.Alert, got.FlashMin, got.FlashMax, c.std, c.format, c.alert)
		}
	}
}
