package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

func init() {
	register(command{name: "status", summary: "print the accounts table of the running agent (local socket)", run: runStatus})
}

// packagedConfig is where the packaged install keeps its configuration:
// status reads its state_dir when neither --config nor --socket is given
// and the file exists. Only tests point it elsewhere.
var packagedConfig = "/etc/mwi-agent/config.yaml"

// packagedStateDir is the packaged configuration's state_dir: status
// looks for the socket there when the packaged config exists but is not
// readable (it holds SIP passwords: mode 0600, user mwi-agent).
var packagedStateDir = "/var/lib/mwi-agent"

// statusDir finds the state directory from the configuration at path.
func statusDir(path string, load func(string) (*config.Config, error)) (string, error) {
	cfg, err := load(path)
	if err == nil {
		return cfg.StateDir, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		if path == packagedConfig {
			return packagedStateDir, nil
		}
		return "", fmt.Errorf("%w\n(the configuration holds SIP passwords and is readable only by the agent's user: run \"sudo mwi-agent status\", or give --socket <state_dir>/%s)", err, agent.StatusSocket)
	}
	return "", err
}

// statusHint adds what to do to a status socket error a user can act on.
func statusHint(err error, sock string) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w\n(the status socket %s is open to root and to the agent's group only: run \"sudo mwi-agent status\", or join the group — packaged install: \"sudo adduser $USER mwi-agent\", then log in again)", err, sock)
	}
	return err
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (for its state_dir; default "+packagedConfig+" if it exists)")
	sock := fs.String("socket", "", "status socket (default <state_dir>/"+agent.StatusSocket+")")
	verbose := fs.Bool("verbose", false, "also show each account's last NOTIFY (time, source, transport, Subscription-State, body) and last REGISTER/SUBSCRIBE answers")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	sp, err := statusSocketPath(*path, *sock)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := agent.ReadStatus(ctx, sp)
	if err != nil {
		return statusHint(err, sp)
	}
	printStatus(stdout, s, time.Now())
	if *verbose {
		d, err := agent.ReadDiagnostics(ctx, sp)
		if err != nil {
			return statusHint(err, sp)
		}
		printDiagnostics(stdout, d)
	}
	return nil
}

// statusSocketPath finds the running agent's status socket: --socket,
// else the state_dir of --config (or of the packaged configuration).
func statusSocketPath(path, sock string) (string, error) {
	if sock != "" {
		return sock, nil
	}
	if path == "" {
		if _, err := os.Stat(packagedConfig); err == nil {
			path = packagedConfig
		}
	}
	dir := config.Default().StateDir
	if path != "" {
		d, err := statusDir(path, config.Load)
		if err != nil {
			return "", err
		}
		dir = d
	}
	return filepath.Join(dir, agent.StatusSocket), nil
}

func printStatus(w io.Writer, s state.Snapshot, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tLABEL\tWAITING\tNEW\tOLD\tURGENT\tSOURCE\tHEALTH\tLAST\tSINCE")
	for _, a := range s.Accounts {
		t := a.Shown() // voice first, as the page and the display show it
		waiting := a.Waiting.String()
		src := a.Source.String()
		switch {
		case a.Unconfirmed():
			waiting += " (last known " + indicate.ShortAge(now.Sub(a.Updated)) + " ago, unconfirmed)"
			src += " (was " + a.RestoredFrom.String() + ")"
		case a.Health == state.HealthStale && a.Waiting != state.WaitingUnknown && a.Source != state.SourceManual:
			waiting += " (stale)"
		}
		since := "-"
		if !a.Since.IsZero() {
			since = a.Since.Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", a.Name, a.Label, waiting, t.New, t.Old, t.UrgentNew, src, a.Health, orDash(a.LastReason), since)
	}
	tw.Flush()
}

// printDiagnostics is status --verbose: per account, what the server last
// sent and answered ("is the server sending anything at all?").
func printDiagnostics(w io.Writer, d agent.Diagnostics) {
	at := func(t time.Time) string { return t.Local().Format(time.DateTime) }
	answer := func(a *agent.Answer) string {
		if a == nil {
			return "none"
		}
		if a.Code == 0 {
			return fmt.Sprintf("no answer (%s) at %s", a.Reason, at(a.At))
		}
		return fmt.Sprintf("%d %s at %s", a.Code, a.Reason, at(a.At))
	}
	for _, a := range d.Accounts {
		fmt.Fprintf(w, "\n%s\n", a.Name)
		fmt.Fprintf(w, "  last REGISTER answer:  %s\n", answer(a.LastRegister))
		fmt.Fprintf(w, "  last SUBSCRIBE answer: %s\n", answer(a.LastSubscribe))
		n := a.LastNotify
		if n == nil {
			fmt.Fprintln(w, "  last NOTIFY: none received")
			continue
		}
		fmt.Fprintf(w, "  last NOTIFY: %s from %s over %s, answered %d (%s)\n", at(n.At), n.From, n.Transport, n.Answer, n.Outcome)
		fmt.Fprintf(w, "  Subscription-State: %s\n", orDash(n.SubscriptionState))
		fmt.Fprintf(w, "  NOTIFYs by outcome: applied %d, old %d, refused %d, malformed %d\n", a.Notifies["applied"], a.Notifies["old"], a.Notifies["refused"], a.Notifies["malformed"])
		fmt.Fprintf(w, "  body (first %d bytes):\n", len(n.Body))
		for _, line := range strings.Split(strings.TrimRight(n.Body, "\r\n"), "\n") {
			fmt.Fprintf(w, "    | %s\n", strings.TrimRight(line, "\r"))
		}
	}
	if n := d.Unmatched; n != nil {
		fmt.Fprintf(w, "\nlast NOTIFY that matched no account: %s from %s over %s, answered %d (%s)\n", at(n.At), n.From, n.Transport, n.Answer, n.Outcome)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
