package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// runTUI redraws a text phone every 250 ms until ctx ends.
func runTUI(ctx context.Context, rig *demoRig, w io.Writer) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lamp := "( )"
		if rig.Board.Lamp.Lit() {
			lamp = "(*)"
		}
		p, _ := rig.Board.Lamp.Pattern()
		fmt.Fprintf(w, "\x1b[H\x1b[2J%s MESSAGE lamp: %s\n", lamp, p.Name)
	}
}
