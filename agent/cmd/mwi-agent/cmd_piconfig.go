package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/piconf"
	"github.com/mwi-agent/mwi-agent/boards"
)

func init() {
	register(command{name: "pi-config", summary: "print the Raspberry Pi config.txt lines a board needs (scripts/flash.sh adds them)", run: runPiConfig})
}

func runPiConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pi-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	board := fs.String("board", "", "board name (default: the config's board)")
	cfgPath := fs.String("config", "", "configuration file to take the board from")
	wiring := fs.Bool("wiring", false, "print the board's 40-pin header wiring as a Markdown table instead")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	name := *board
	if name == "" {
		if *cfgPath == "" {
			return errors.New("give --board NAME or --config FILE")
		}
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		name = cfg.Board
	}
	b, err := boards.Lookup(name)
	if err != nil {
		return err
	}
	if *wiring {
		rows, err := piconf.Wiring(b)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, piconf.WiringTable(rows))
		return nil
	}
	lines, err := piconf.ConfigTxt(b)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}
