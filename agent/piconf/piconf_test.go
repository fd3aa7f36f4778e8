package piconf

import (
	"slices"
	"strings"
	"testing"

	"github.com/mwi-agent/mwi-agent/boards"
)

func settings(lines []string) []string {
	var s []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "#") {
			s = append(s, l)
		}
	}
	return s
}

func TestConfigTxtForBuiltInBoards(t *testing.T) {
	for _, tc := range []struct {
		board string
		want  []string
	}{
		{"devboard-leds", []string{
			"[all]", "dtparam=i2c_arm=on",
			"gpio=22=op,dl", "gpio=23=op,dl", "gpio=24=op,dl", "gpio=25=op,dl", "gpio=17=op,dl",
			"gpio=27=ip,pu", // button to ground
		}},
		{"rpi-ata", []string{
			"[all]", "dtparam=i2c_arm=on", "dtparam=audio=on",
			"gpio=22=op,dl",
			"gpio=5=op,dl",  // RM: not ringing
			"gpio=12=op,dh", // FR: forward
			"gpio=6=ip,np",  // SHK
		}},
	} {
		t.Run(tc.board, func(t *testing.T) {
			b, err := boards.Lookup(tc.board)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := ConfigTxt(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := settings(lines); !slices.Equal(got, tc.want) {
				t.Fatalf("settings\n got %q\nwant %q", got, tc.want)
			}
			if !strings.HasPrefix(lines[0], "# mwi-agent: board "+tc.board) {
				t.Fatalf("first line %q", lines[0])
			}
		})
	}
}

func TestConfigTxtActiveLowOutputsStartHigh(t *testing.T) {
	b := boards.Board{Name: "x", Backend: boards.BackendGPIO,
		Lamp: boards.LineRef{Name: "GPIO4", ActiveLow: true},
		Hook: boards.LineRef{Name: "GPIO7"}}
	lines, err := ConfigTxt(b)
	if err != nil {
		t.Fatal(err)
	}
	got := settings(lines)
	want := []string{"[all]", "gpio=4=op,dh", "gpio=7=ip,pd"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestConfigTxtErrors(t *testing.T) {
	sim, _ := boards.Lookup("sim")
	if _, err := ConfigTxt(sim); err == nil || !strings.Contains(err.Error(), "sim") {
		t.Fatalf("sim board: %v", err)
	}
	b := boards.Board{Name: "odd", Backend: boards.BackendGPIO,
		Lamp:    boards.LineRef{Chip: "gpiochip0", Offset: 4},
		Display: &boards.DisplayDef{Driver: "ssd1306", Bus: "3", Address: 0x3c, Width: 128, Height: 64}}
	_, err := ConfigTxt(b)
	if err == nil || !strings.Contains(err.Error(), "gpiochip0:4") || !strings.Contains(err.Error(), `bus "3"`) {
		t.Fatalf("want both problems named, got %v", err)
	}
}

func TestGPIONumber(t *testing.T) {
	for name, want := range map[string]int{"GPIO0": 0, "GPIO27": 27} {
		if n, err := GPIONumber(boards.LineRef{Name: name}); err != nil || n != want {
			t.Errorf("%s: %d, %v", name, n, err)
		}
	}
	for _, name := range []string{"GPIO", "GPIOx", "GPIO99", "LAMP", ""} {
		if _, err := GPIONumber(boards.LineRef{Name: name}); err == nil {
			t.Errorf("%q: no error", name)
		}
	}
}
