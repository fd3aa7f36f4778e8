package boards

import (
	"strings"
	"testing"
)

func TestBuiltinBoardsValidate(t *testing.T) {
	for _, b := range All() {
		if err := b.Validate(); err != nil {
			t.Errorf("board %s: %v", b.Name, err)
		}
	}
}

func TestValidateFindsDoubleUse(t *testing.T) {
	b, err := Lookup("devboard-leds")
	if err != nil {
		t.Fatal(err)
	}
	b.LEDs = append([]LineRef(nil), b.LEDs...)
	b.LEDs[0] = LineRef{Name: "GPIO22"}
	err = b.Validate()
	if err == nil || !strings.Contains(err.Error(), "leds[0]: line GPIO22 already used by lamp") {
		t.Fatalf("want double-use error, got %v", err)
	}
}

func TestLookupUnknownNamesKnownBoards(t *testing.T) {
	_, err := Lookup("rpi9")
	if err == nil || !strings.Contains(err.Error(), "rpi-ata") {
		t.Fatalf("got %v", err)
	}
}

func TestValidateRejectsActiveLowPD(t *testing.T) {
	b, err := Lookup("rpi-ata")
	if err != nil {
		t.Fatal(err)
	}
	f := *b.FXS
	f.PD.ActiveLow = true
	b.FXS = &f
	err = b.Validate()
	if err == nil || !strings.Contains(err.Error(), "fxs.pd: active_low is not allowed") {
		t.Fatalf("want an fxs.pd error, got %v", err)
	}
}
