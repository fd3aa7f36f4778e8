package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/rig"
	"github.com/mwi-agent/mwi-agent/agent/service"
)

func init() {
	register(command{name: "run", summary: "run the agent with a configuration file until SIGINT/SIGTERM", run: runRun})
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// runRun builds the device (agent/rig: agent, indicators, FXS port, status
// socket and page, systemd notifications) from the file and runs it; a
// board that cannot be opened stops it before systemd hears READY=1.
func runRun(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (required)")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	if *path == "" && fs.NArg() == 1 {
		*path = fs.Arg(0)
	}
	if *path == "" {
		fmt.Fprintln(stderr, "usage: mwi-agent run --config FILE")
		return exitError{2}
	}
	cfg, err := config.LoadResolved(*path)
	if err != nil {
		return configError{err}
	}
	log := newLogger(stderr, cfg.LogLevel)
	// Small boards: collect garbage at 50 % heap growth instead of 100 %
	// unless GOGC says otherwise (256 accounts: 23 → 19.5 MB VmHWM, no
	// measurable cost; see docs/sip.md).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	board, err := rig.Open(cfg, log)
	if err != nil {
		return err
	}
	r, err := rig.New(cfg, board, rig.Options{Logger: log, Notify: true, Persist: true,
		StatusSocket: filepath.Join(cfg.StateDir, agent.StatusSocket)})
	if err != nil {
		board.Devices.Close()
		return err
	}
	r.Add(rig.Part{Name: "reload", Optional: true, Run: func(ctx context.Context) error {
		return reloadOnHUP(ctx, *path, r.Agent, log)
	}})
	err = r.Run(ctx)
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

// reloadOnHUP reloads the file on SIGHUP until ctx ends: unchanged
// accounts keep their registrations. Under systemd it sends RELOADING=1
// ... READY=1 (agent/service; a no-op outside it).
func reloadOnHUP(ctx context.Context, path string, a *agent.Agent, log *slog.Logger) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-hup:
			_ = service.New(log).Reload(func() error {
				nc, err := config.LoadResolved(path)
				if err != nil {
					log.Error("reload: configuration not applied", "err", err)
					return err
				}
				if err := a.Reload(nc); err != nil {
					log.Warn("reload", "err", err)
					return err
				}
				log.Info("reloaded", "accounts", len(nc.Accounts))
				return nil
			})
		}
	}
}
