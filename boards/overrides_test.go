package boards

import (
	"strings"
	"testing"
)

func TestOverrides(t *testing.T) {
	b, _ := Lookup("rpi-ata")
	got, err := b.With(Overrides{
		Lamp: &LineRef{Name: "GPIO4", ActiveLow: true},
		FXS:  &FXSLines{HVRelay: &LineRef{Name: "GPIO16"}, AudioDev: "hw:1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Lamp.Name != "GPIO4" || !got.Lamp.ActiveLow || got.FXS.HVRelay.Name != "GPIO16" || got.FXS.AudioDev != "hw:1" || !hasSig(got.FXS.Signalling, SigHV) {
		t.Fatalf("overrides not applied: %+v %+v", got, got.FXS)
	}
	orig, _ := Lookup("rpi-ata")
	if orig.Lamp.Name != "GPIO22" || orig.FXS.HVRelay.IsSet() || hasSig(orig.FXS.Signalling, SigHV) {
		t.Fatal("With modified the built-in board")
	}
}

func TestOverridesValidated(t *testing.T) {
	b, _ := Lookup("rpi-ata")
	for _, c := range []struct {
		o    Overrides
		want string
	}{
		{Overrides{Lamp: &LineRef{Name: "GPIO5"}}, "fxs.rm: line GPIO5 already used by lamp"},
		{Overrides{Lamp: &LineRef{}}, "lamp: no line"},
		{Overrides{NoDisplay: true, Display: &DisplayDef{}}, "display and no_display both set"},
		{Overrides{Display: &DisplayDef{Driver: "ssd1306", Width: 128, Height: 64}}, "display: needs bus and address"},
	} {
		_, err := b.With(c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.o, err, c.want)
		}
	}
	dl, _ := Lookup("devboard-leds")
	if _, err := dl.With(Overrides{FXS: &FXSLines{}}); err == nil || !strings.Contains(err.Error(), "has no FXS port") {
		t.Errorf("fxs override on a board without FXS: %v", err)
	}
	nd, err := dl.With(Overrides{NoDisplay: true})
	if err != nil || nd.Display != nil {
		t.Errorf("no_display: %v %+v", err, nd.Display)
	}
}
