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
	"text/tabwriter"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
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
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *sock == "" && *path == "" {
		if _, err := os.Stat(packagedConfig); err == nil {
			*path = packagedConfig
		}
	}
	if *sock == "" {
		dir := config.Default().StateDir
		if *path != "" {
			d, err := statusDir(*path, config.Load)
			if err != nil {
				return err
			}
			dir = d
		}
		*sock = filepath.Join(dir, agent.StatusSocket)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := agent.ReadStatus(ctx, *sock)
	if err != nil {
		return statusHint(err, *sock)
	}
	printStatus(stdout, s)
	return nil
}

func printStatus(w io.Writer, s state.Snapshot) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tLABEL\tWAITING\tNEW\tOLD\tURGENT\tSOURCE\tHEALTH\tLAST\tSINCE")
	for _, a := range s.Accounts {
		t := a.Shown() // voice first, as the page and the display show it
		waiting := a.Waiting.String()
		if a.Health == state.HealthStale && a.Waiting != state.WaitingUnknown {
			waiting += " (stale)"
		}
		since := "-"
		if !a.Since.IsZero() {
			since = a.Since.Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", a.Name, a.Label, waiting, t.New, t.Old, t.UrgentNew, a.Source, a.Health, orDash(a.LastReason), since)
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
