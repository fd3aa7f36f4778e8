package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/service"
)

// runHook lets other cmd_*.go files attach to a running agent (hardware,
// web page) without editing this file: add one in an init function. Each
// hook runs on its own goroutine until ctx ends.
type runHook func(ctx context.Context, a *agent.Agent, cfg *config.Config, log *slog.Logger) error

var runHooks []runHook

func init() {
	register(command{name: "run", summary: "run the agent with a configuration file until SIGINT/SIGTERM", run: runRun})
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

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
	cfg, err := config.Load(*path)
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
	a, err := agent.New(cfg, agent.Options{Logger: log})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		log.Warn("state directory", "dir", cfg.StateDir, "err", err)
	} else {
		sock := filepath.Join(cfg.StateDir, agent.StatusSocket)
		go func() {
			if err := a.ServeStatus(ctx, sock); err != nil {
				log.Warn("status socket", "path", sock, "err", err)
			}
		}()
	}
	for _, h := range runHooks {
		go func() {
			if err := h(ctx, a, cfg, log); err != nil && ctx.Err() == nil {
				log.Error("run hook", "err", err)
			}
		}()
	}
	// SIGHUP: reload the file; unchanged accounts keep their registrations.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				// RELOADING=1 ... READY=1 for systemd (agent/service; no-op outside it)
				_ = service.New(log).Reload(func() error {
					nc, err := config.Load(*path)
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
	}()
	err = a.Run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
