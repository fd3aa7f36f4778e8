package hw

import (
	"errors"
	"strings"
	"testing"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
)

func TestOpenSim(t *testing.T) {
	b, err := boards.Lookup("sim")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Lamp == nil || len(d.LEDs) != len(b.LEDs) || d.Display == nil || d.Hook == nil || d.Line == nil || d.Audio == nil {
		t.Fatalf("sim board devices incomplete: %+v", d)
	}
	if info := d.Display.Info(); info.Width != 128 || info.Height != 64 || info.Kind != hal.DisplayGraphic {
		t.Fatalf("display %+v", info)
	}
	if err := d.Lamp.SetPattern(hal.PatternSteady); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Lamp.SetPattern(hal.PatternSteady); !errors.Is(err, hal.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestOpenRejectsInvalidBoard(t *testing.T) {
	b, _ := boards.Lookup("sim")
	b.LEDs = append(b.LEDs, b.Lamp) // lamp line used twice
	_, err := Open(b, nil)
	if err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("Open of a board with a line used twice: %v", err)
	}
}

func TestOpenUnknownBackend(t *testing.T) {
	b, _ := boards.Lookup("devboard-leds")
	if _, ok := backends[boards.BackendGPIO]; ok {
		t.Skip("gpio backend compiled in")
	}
	if _, err := Open(b, nil); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Fatalf("err = %v", err)
	}
}
