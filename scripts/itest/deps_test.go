package itest_test

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/mwi-agent/mwi-agent"

// TestDependencyDirections enforces the rules of direction of
// docs/architecture.md on every non-test import in the module (after tailscale's deptest).
func TestDependencyDirections(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	isStd := func(p string) bool { return !strings.Contains(strings.SplitN(p, "/", 2)[0], ".") }
	under := func(p, dir string) bool { return p == mod+"/"+dir || strings.HasPrefix(p, mod+"/"+dir+"/") }
	hardwareLib := func(p string) bool {
		return strings.HasPrefix(p, "github.com/warthog618/go-gpiocdev") || strings.HasPrefix(p, "periph.io/") || strings.HasPrefix(p, "github.com/gen2brain/alsa")
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pkg, imports := f[0], f[1:]
		checked++
		// hal/clock is the shared time source: stdlib only, importable by all.
		notBackend := func(p string) bool {
			return p == mod+"/hal" || under(p, "hal/sim") || under(p, "hal/haltest") || under(p, "hal/clock")
		}
		isBackend := under(pkg, "hal") && !notBackend(pkg)
		for _, imp := range imports {
			switch {
			case (under(pkg, "hal") || under(pkg, "tone") || under(pkg, "display") || under(pkg, "boards")) && under(imp, "agent"):
				t.Errorf("%s imports %s: hal, tone, display and boards never import agent", pkg, imp)
			case (pkg == mod+"/hal" || under(pkg, "hal/clock") || under(pkg, "tone") || under(pkg, "boards")) && !isStd(imp):
				t.Errorf("%s imports %s: this package uses the standard library only", pkg, imp)
			case under(pkg, "display") && !isStd(imp) && !strings.HasPrefix(imp, "golang.org/x/image") && imp != mod+"/hal":
				t.Errorf("%s imports %s: display uses the standard library, x/image and hal only", pkg, imp)
			case under(pkg, "agent/web") && (under(imp, "agent/demo") || under(imp, "hal/sim")):
				t.Errorf("%s imports %s: the status page reads the applied outputs and takes Device/Demo interfaces; it imports neither the demo server nor the simulator", pkg, imp)
			case hardwareLib(imp) && !isBackend:
				t.Errorf("%s imports %s: only hal backends import go-gpiocdev, periph or the ALSA library", pkg, imp)
			case under(imp, "hal") && !notBackend(imp) &&
				!under(pkg, "agent/cmd") && !under(pkg, "agent/hw") && !under(pkg, "hal"):
				t.Errorf("%s imports hardware backend %s: only agent/cmd/mwi-agent and agent/hw do", pkg, imp)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("go list returned only %d packages", checked)
	}
}
