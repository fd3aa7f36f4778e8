package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/mwi-agent/mwi-agent/agent/config"
)

func init() {
	register(command{name: "check-config", summary: "check a configuration file and print every problem", run: runCheckConfig})
}

// runCheckConfig implements "mwi-agent check-config [--config] FILE": it
// prints every problem, one per line, on stderr and exits 1, or prints
// "ok: N accounts" on stdout.
func runCheckConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (or give it as the argument)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mwi-agent check-config FILE")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, -1); err != nil {
		return err
	}
	switch {
	case *path == "" && fs.NArg() == 1:
		*path = fs.Arg(0)
	case *path != "" && fs.NArg() == 0:
	default:
		fs.Usage()
		return exitError{2}
	}
	cfg, err := config.LoadResolved(*path)
	if err != nil {
		for _, e := range unjoinErrors(err) {
			fmt.Fprintf(stderr, "%s: %v\n", *path, e)
		}
		return exitError{1}
	}
	n := len(cfg.Accounts)
	if n == 0 {
		fmt.Fprintf(stderr, "%s: warning: no accounts: nothing will be registered or subscribed, and the lamp stays off\n", *path)
	}
	unit := "accounts"
	if n == 1 {
		unit = "account"
	}
	fmt.Fprintf(stdout, "ok: %d %s\n", n, unit)
	return nil
}

// unjoinErrors splits an errors.Join into its parts.
func unjoinErrors(err error) []error {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		return j.Unwrap()
	}
	return []error{err}
}
