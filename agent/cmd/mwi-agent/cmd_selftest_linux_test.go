//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/internal/syncbuf"
)

// Inside the qemu VM of scripts/integration/gpio-vm.sh (MWI_GPIOSIM=1) the
// selftest runs on a real gpio board definition against gpio-sim lines; the
// "installer" presses the hook button by writing gpio-sim's pull.
func TestSelftestGPIOBoardInVM(t *testing.T) {
	if os.Getenv("MWI_GPIOSIM") != "1" {
		t.Skip("runs inside the qemu VM of scripts/integration/gpio-vm.sh (MWI_GPIOSIM=1)")
	}
	pull := ""
	banks, _ := filepath.Glob("/sys/kernel/config/gpio-sim/*/bank0")
	for _, b := range banks {
		if l, _ := os.ReadFile(b + "/label"); strings.TrimSpace(string(l)) == "mwi-sim-pi" {
			chip, _ := os.ReadFile(b + "/chip_name")
			dev, _ := os.ReadFile(filepath.Dir(b) + "/dev_name")
			pull = filepath.Join("/sys/devices/platform", strings.TrimSpace(string(dev)), strings.TrimSpace(string(chip)), "sim_gpio27/pull")
		}
	}
	if pull == "" {
		t.Fatal("no mwi-sim-pi chip")
	}
	if err := os.WriteFile(pull, []byte("pull-up"), 0); err != nil { // button released
		t.Fatal(err)
	}
	var out syncbuf.Buffer
	var errb bytes.Buffer
	go func() { // the installer presses the button when asked to
		for i := 0; i < 1000 && !strings.Contains(out.String(), "within"); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		os.WriteFile(pull, []byte("pull-down"), 0)
	}()
	code := runMain(context.Background(), []string{"selftest", "--board", "devboard-leds", "--step", "20ms", "--hook-wait", "20s"}, &out, &errb)
	t.Log(out.String())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"ok   lamp GPIO22", "ok   LED 4 GPIO17", "ok   hook switch reads: on-hook", "ok   hook switch change: now off-hook", "selftest: all steps ok"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
