package piconf

import (
	"os"
	"strings"
	"testing"

	"github.com/mwi-agent/mwi-agent/boards"
)

func TestHeaderPin(t *testing.T) {
	for bcm, pin := range map[int]int{2: 3, 3: 5, 22: 15, 27: 13, 17: 11, 5: 29, 12: 32, 6: 31, 26: 37, 21: 40} {
		if p, ok := HeaderPin(bcm); !ok || p != pin {
			t.Errorf("GPIO%d: pin %d, %v; want %d", bcm, p, ok, pin)
		}
	}
	if _, ok := HeaderPin(30); ok {
		t.Error("GPIO30 is not on the header")
	}
	seen := map[int]int{}
	for bcm, pin := range headerPin {
		if prev, dup := seen[pin]; dup {
			t.Errorf("pin %d for GPIO%d and GPIO%d", pin, prev, bcm)
		}
		seen[pin] = bcm
	}
}

// docs/ship.md's wiring tables are exactly what the board data says, so the
// docs cannot drift from boards/boards.go.
func TestDocsWiringTablesMatchBoards(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ship.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boards.All() {
		if b.Backend != boards.BackendGPIO {
			continue
		}
		rows, err := Wiring(b)
		if err != nil {
			t.Fatalf("%s: %v", b.Name, err)
		}
		want := WiringTable(rows)
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/ship.md lacks the %s wiring table; it should read:\n%s", b.Name, want)
		}
	}
}

func TestWiringDevboard(t *testing.T) {
	b, _ := boards.Lookup("devboard-leds")
	rows, err := Wiring(b)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0] != (WiringRow{"message lamp", "GPIO22", 15, "LED + resistor to GND"}) {
		t.Fatalf("first row %+v", rows[0])
	}
	last := rows[5]
	if last.Function != "hook switch" || last.Pin != 13 || !strings.Contains(last.Note, "active low") {
		t.Fatalf("hook row %+v", last)
	}
}
