package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/mwi-agent/mwi-agent/boards"
)

func init() {
	register(command{name: "boards", summary: "list the supported boards, or show one board's wiring (boards NAME)", run: runBoards})
}

func runBoards(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("boards", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	list := boards.All()
	if fs.NArg() > 0 {
		b, err := boards.Lookup(fs.Arg(0))
		if err != nil {
			return err
		}
		list = []boards.Board{b}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if fs.NArg() == 0 {
		tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tBACKEND\tDESCRIPTION")
		for _, b := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", b.Name, b.Backend, b.Description)
		}
		tw.Flush()
		fmt.Fprintln(stdout, "\n\"mwi-agent boards NAME\" shows a board's wiring; boards/README.md has the tables.")
		return nil
	}
	return printWiring(stdout, list[0])
}

// printWiring prints one board as a function/line table.
func printWiring(w io.Writer, b boards.Board) error {
	fmt.Fprintf(w, "%s (%s backend): %s\n\n", b.Name, b.Backend, b.Description)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tLINE\tNOTE")
	line := func(fn string, l boards.LineRef, note string) {
		if !l.IsSet() {
			return
		}
		if l.ActiveLow {
			if note != "" {
				note += "; "
			}
			note += "active low"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", fn, l, note)
	}
	line("message lamp", b.Lamp, "")
	for i, l := range b.LEDs {
		line(fmt.Sprintf("account LED %d", i+1), l, "")
	}
	line("hook switch", b.Hook, "")
	if d := b.Display; d != nil {
		where := fmt.Sprintf("%dx%d", d.Width, d.Height)
		if d.Bus != "" {
			where = fmt.Sprintf("I2C bus %s addr 0x%02X, %s", d.Bus, d.Address, where)
		}
		fmt.Fprintf(tw, "display\t%s\t%s\n", d.Driver, where)
	}
	if f := b.FXS; f != nil {
		line("FXS RM (ring mode)", f.RM, "high = ring")
		line("FXS F/R", f.FR, "high = forward")
		line("FXS SHK", f.SHK, "high = off-hook")
		line("FXS PD", f.PD, "power down")
		line("FXS HV relay", f.HVRelay, "neon MWI")
		if f.AudioDev != "" {
			fmt.Fprintf(tw, "FXS audio\t%s\tALSA device\n", f.AudioDev)
		}
		fmt.Fprintf(tw, "FXS signalling\t%v\tring %d Hz\n", f.Signalling, f.RingHz)
	}
	fmt.Fprintf(tw, "tone country\t%s\t\n", b.Country)
	return tw.Flush()
}
