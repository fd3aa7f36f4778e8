package piconf

import (
	"fmt"
	"strings"

	"github.com/mwi-agent/mwi-agent/boards"
)

// headerPin maps BCM GPIO numbers to physical pins of the 40-pin header
// (the same on every Raspberry Pi with a 40-pin header, Pi 1 B+ to Pi 5).
var headerPin = map[int]int{
	2: 3, 3: 5, 4: 7, 14: 8, 15: 10, 17: 11, 18: 12, 27: 13, 22: 15, 23: 16,
	24: 18, 10: 19, 9: 21, 25: 22, 11: 23, 8: 24, 7: 26, 0: 27, 1: 28, 5: 29,
	6: 31, 12: 32, 13: 33, 19: 35, 16: 36, 26: 37, 20: 38, 21: 40,
}

// HeaderPin returns the physical 40-pin header pin of BCM GPIO n.
func HeaderPin(n int) (int, bool) {
	p, ok := headerPin[n]
	return p, ok
}

// WiringRow is one connection of a board to the 40-pin header.
type WiringRow struct {
	Function string // "message lamp", "account LED 1", "display SDA", ...
	Line     string // "GPIO22", "3V3", "GND"
	Pin      int    // physical header pin
	Note     string // "active low", "to GND", ...
}

// Wiring lists a board's connections to the 40-pin header, in the order a
// builder wires them; docs/ship.md shows these tables.
func Wiring(b boards.Board) ([]WiringRow, error) {
	var rows []WiringRow
	var err error
	add := func(fn string, l boards.LineRef, note string) {
		if !l.IsSet() || err != nil {
			return
		}
		var n int
		n, err = GPIONumber(l)
		if err != nil {
			return
		}
		p, ok := HeaderPin(n)
		if !ok {
			err = fmt.Errorf("piconf: %s: GPIO%d is not on the 40-pin header", fn, n)
			return
		}
		if l.ActiveLow {
			note = joinNote(note, "active low")
		}
		rows = append(rows, WiringRow{fn, l.Name, p, note})
	}
	add("message lamp", b.Lamp, "LED + resistor to GND")
	for i, l := range b.LEDs {
		add(fmt.Sprintf("account LED %d", i+1), l, "LED + resistor to GND")
	}
	add("hook switch", b.Hook, hookNote(b.Hook))
	if d := b.Display; d != nil && (d.Bus == "1" || d.Bus == "/dev/i2c-1") {
		note := fmt.Sprintf("%s at 0x%02X", d.Driver, d.Address)
		rows = append(rows,
			WiringRow{"display SDA", "GPIO2", 3, note},
			WiringRow{"display SCL", "GPIO3", 5, note},
			WiringRow{"display VCC", "3V3", 1, ""},
			WiringRow{"display GND", "GND", 9, ""})
	}
	if f := b.FXS; f != nil {
		add("SLIC RM (ring mode)", f.RM, "high = ring")
		add("SLIC F/R (polarity)", f.FR, "high = forward")
		add("SLIC SHK (off-hook)", f.SHK, "input, high = off hook")
		add("SLIC PD (power down)", f.PD, "open-drain: low = power down, never driven high")
		add("HV MWI relay", f.HVRelay, "")
	}
	return rows, err
}

func hookNote(l boards.LineRef) string {
	if l.ActiveLow {
		return "button to GND (pull-up)"
	}
	return "button to 3V3 (pull-down)"
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// WiringTable formats rows as the Markdown table docs/ship.md shows.
func WiringTable(rows []WiringRow) string {
	var sb strings.Builder
	sb.WriteString("| function | line | header pin | note |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s | %s | %d | %s |\n", r.Function, r.Line, r.Pin, r.Note)
	}
	return sb.String()
}
