package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mwi-agent/mwi-agent/display"
)

// runTUI draws the phone in the terminal every 200 ms until ctx ends: the
// lamp with its real cadence, the LEDs and the display package's terminal
// rendering of the same view the device display shows.
func runTUI(ctx context.Context, rig *demoRig, w io.Writer, ansi bool) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fmt.Fprint(w, tuiFrame(rig, ansi))
	}
}

func tuiFrame(rig *demoRig, ansi bool) string {
	var b strings.Builder
	if ansi {
		b.WriteString("\x1b[H\x1b[2J")
	}
	lamp := func(lit bool, on string) string {
		if !lit {
			return "( )"
		}
		if ansi {
			return on + "(*)\x1b[0m"
		}
		return "(*)"
	}
	p, _ := rig.Board.Lamp.Pattern()
	out := rig.Applier.Last()
	fmt.Fprintf(&b, "mwi-agent demo      MESSAGE %s %s\n", lamp(rig.Board.Lamp.Lit(), "\x1b[1;31m"), p.Name)
	var leds []string
	for i, l := range rig.Board.LEDs {
		name := "-"
		if i < len(out.LEDFor) && out.LEDFor[i] != "" {
			name = out.LEDFor[i]
		}
		leds = append(leds, lamp(l.Lit(), "\x1b[1;32m")+" "+name)
	}
	fmt.Fprintf(&b, "LEDs  %s\n", strings.Join(leds, "  "))
	b.WriteString(strings.Repeat("-", 56) + "\n")
	b.WriteString(display.RenderTerminal(out.Display, ansi))
	hook := "on-hook"
	if off, _ := rig.Board.Hook.OffHook(); off {
		hook = "off-hook"
		if len(out.FXS) > 0 && out.FXS[0].Stutter {
			hook += " (stutter dial tone)"
		} else {
			hook += " (dial tone)"
		}
	}
	fmt.Fprintf(&b, "\nhandset: %s    %s\n", hook, out.Why)
	if rig.URL != "" {
		fmt.Fprintf(&b, "controls: %s\n", rig.URL)
	}
	return b.String()
}
