//go:build linux

package hw

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
)

// On a machine without GPIO chips a gpio board fails at start with one line
// naming the missing line.
func TestOpenGPIOBoardWithoutChips(t *testing.T) {
	if m, _ := filepath.Glob("/dev/gpiochip*"); len(m) > 0 {
		t.Skipf("this machine has GPIO chips %v", m)
	}
	b, _ := boards.Lookup("devboard-leds")
	_, err := Open(b, nil)
	want := `hw: board devboard-leds: lamp: hal: GPIO line "GPIO22" not found on any chip (is this a Raspberry Pi? is the user in group gpio?)`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v\nwant prefix %s", err, want)
	}
}

// Inside the qemu VM (scripts/integration/gpio-vm.sh), the gpio-sim chip
// names its lines GPIO0..GPIO27 like a Raspberry Pi: the real boards open.
func TestOpenGPIOBoardInVM(t *testing.T) {
	if os.Getenv("MWI_GPIOSIM") != "1" {
		t.Skip("runs inside the qemu VM of scripts/integration/gpio-vm.sh (MWI_GPIOSIM=1)")
	}
	for _, name := range []string{"devboard-leds", "rpi-ata"} {
		b, _ := boards.Lookup(name)
		d, err := Open(b, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d.Lamp == nil || d.Hook == nil || (b.FXS != nil) != (d.Line != nil) || len(d.LEDs) != len(b.LEDs) {
			t.Fatalf("%s: devices %+v", name, d)
		}
		if err := d.Lamp.SetPattern(hal.PatternSteady); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		// Reopening proves every line was released.
		d, err = Open(b, nil)
		if err != nil {
			t.Fatalf("%s: reopen after Close: %v", name, err)
		}
		d.Close()
	}
}
