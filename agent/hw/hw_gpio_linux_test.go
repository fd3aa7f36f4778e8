//go:build linux

package hw

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/fxs"
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
		if b.FXS != nil { // no sound card (nor aplay) in the VM
			f := *b.FXS
			f.AudioDev = ""
			b.FXS = &f
		}
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

// The FXS line controller on real kernel lines (in the VM): polarity and
// HV follow MWI after the quiet time, drop the moment the handset lifts,
// and come back after a hang-up.
func TestFXSPortOnGPIOInVM(t *testing.T) {
	if os.Getenv("MWI_GPIOSIM") != "1" {
		t.Skip("runs inside the qemu VM of scripts/integration/gpio-vm.sh (MWI_GPIOSIM=1)")
	}
	sysfs := ""
	banks, _ := filepath.Glob("/sys/kernel/config/gpio-sim/*/bank0")
	for _, b := range banks {
		if l, _ := os.ReadFile(b + "/label"); strings.TrimSpace(string(l)) == "mwi-sim-pi" {
			chip, _ := os.ReadFile(b + "/chip_name")
			dev, _ := os.ReadFile(filepath.Dir(b) + "/dev_name")
			sysfs = filepath.Join("/sys/devices/platform", strings.TrimSpace(string(dev)), strings.TrimSpace(string(chip)))
		}
	}
	value := func(n int) bool {
		b, err := os.ReadFile(fmt.Sprintf("%s/sim_gpio%d/value", sysfs, n))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b)) == "1"
	}
	shk := func(off bool) {
		v := map[bool]string{true: "pull-up", false: "pull-down"}[off] // SHK high = off-hook
		if err := os.WriteFile(sysfs+"/sim_gpio6/pull", []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s: not within 5 s (F/R %v, HV %v)", what, value(12), value(16))
			}
		}
	}
	b, _ := boards.Lookup("rpi-ata")
	f := *b.FXS
	f.AudioDev, f.HVRelay, f.Signalling = "", boards.LineRef{Name: "GPIO16"}, append(f.Signalling, boards.SigHV)
	b.FXS = &f
	shk(false)
	d, err := Open(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p, err := fxs.New(fxs.Config{Polarity: true, HV: true, Quiet: 200 * time.Millisecond}, fxs.Devices{Line: d.Line, Hook: d.Hook}, fxs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	p.SetMWI(true, true)
	eventually("reversed with HV", func() bool { return !value(12) && value(16) })
	shk(true)
	eventually("lift: HV off, forward", func() bool { return value(12) && !value(16) })
	shk(false)
	eventually("hang-up: reversed with HV again", func() bool { return !value(12) && value(16) })
	cancel()
	<-done
	if !value(12) || value(16) {
		t.Fatalf("after the port stopped: F/R %v HV %v, want forward and HV off", value(12), value(16))
	}
}
