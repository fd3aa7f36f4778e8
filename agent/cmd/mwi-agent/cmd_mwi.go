package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

func init() {
	register(command{name: "mwi", summary: "set or clear an account's message-waiting state by hand (mwi set ACCOUNT [--new N --old M --urgent U] | mwi clear ACCOUNT|--all)", run: runMWI})
}

const mwiUsage = `usage: mwi-agent mwi set ACCOUNT [--new N] [--old M] [--urgent U]
       mwi-agent mwi clear ACCOUNT
       mwi-agent mwi clear --all
The running agent (found like "mwi-agent status": --socket, or the state_dir
of --config) shows the state with source "manual" until the server reports
a change (docs/state.md).`

// runMWI sends a manual set or clear to the running agent's status socket.
// Flags may come before or after the account.
func runMWI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mwi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, mwiUsage); fs.PrintDefaults() }
	path := fs.String("config", "", "configuration file (for its state_dir; default "+packagedConfig+" if it exists)")
	sock := fs.String("socket", "", "status socket (default <state_dir>/"+agent.StatusSocket+")")
	newN := fs.Uint("new", 0, "set: new messages")
	oldN := fs.Uint("old", 0, "set: old messages")
	urgent := fs.Uint("urgent", 0, "set: urgent new messages (at most --new)")
	all := fs.Bool("all", false, "clear: every account")
	var pos []string
	for rest := args; ; {
		if err := parseFlags(fs, rest, -1); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, mwiUsage)
		return exitError{2}
	}
	req := state.ManualRequest{Action: pos[0], All: *all}
	for _, c := range []struct {
		name string
		v    uint
		dst  *uint32
	}{{"new", *newN, &req.New}, {"old", *oldN, &req.Old}, {"urgent", *urgent, &req.Urgent}} {
		if c.v > 1<<32-1 {
			return fmt.Errorf("mwi: --%s %d: more than 4294967295", c.name, c.v)
		}
		*c.dst = uint32(c.v)
	}
	switch {
	case len(pos) == 2:
		req.Account = pos[1]
	case len(pos) > 2:
		return fmt.Errorf("mwi: unexpected argument %q", pos[2])
	}
	if err := req.Validate(); err != nil {
		return err
	}
	sp, err := statusSocketPath(*path, *sock)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	names, err := agent.SendManual(ctx, sp, req)
	if err != nil {
		return statusHint(err, sp)
	}
	fmt.Fprintf(stdout, "%s: %s (source manual)\n", req.Action, strings.Join(names, ", "))
	return nil
}
