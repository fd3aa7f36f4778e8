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
