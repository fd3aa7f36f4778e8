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
	"runtime"
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
	if os.Getenv("GOMAXPROCS") == "" {
		// One processor for Go code: each has its own cache of partly
		// used heap spans and GC work, and the agent waits on the network
		// (1,000 accounts: VmHWM 27.2 → 25.9 MB, 256: 16.4 → 15.4, 8:
		// 10.3 → 10.0; all subscribed and CPU no worse; docs/memory.md,
		// "Fourth round"). System calls still run in parallel.
		runtime.GOMAXPROCS(1)
	}
	setGC := os.Getenv("GOGC") == "" // GOGC set: the runtime's, as asked
	if setGC {
		debug.SetGCPercent(gcPercent(0)) // already while the file is read
	}
	cfg, err := config.LoadResolved(*path)
	if err != nil {
		return configError{err}
	}
	log := newLogger(stderr, cfg.LogLevel)
	if setGC {
		debug.SetGCPercent(gcPercent(len(cfg.Accounts)))
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
		return reloadOnHUP(ctx, *path, r.Agent, log, setGC)
	}})
	// Start-up code is not needed again: unmap the executable's pages
	// (pages_linux.go) before the accounts start.
	dropExecPages()
	err = r.Run(ctx)
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

// reloadOnHUP reloads the file on SIGHUP until ctx ends: unchanged
// accounts keep their registrations. Under systemd it sends RELOADING=1
// ... READY=1 (agent/service; a no-op outside it).
func reloadOnHUP(ctx context.Context, path string, a *agent.Agent, log *slog.Logger, setGC bool) error {
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
				if setGC {
					debug.SetGCPercent(gcPercent(len(nc.Accounts)))
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

// gcPercent is the garbage collector's target (GOGC) for a number of
// accounts, unless GOGC says otherwise. The heap may grow by half of what
// is live before a collection, not by all of it (Go's default): 256
// accounts 23 → 19.5 MB VmHWM at no measurable cost (docs/sip.md). From
// 128 accounts on, by a quarter: the live heap is then large enough that
// the headroom is most of what the process adds (1,000 accounts: 29-30 →
// 27 MB VmHWM for about 10 % more CPU during the start-up; docs/memory.md,
// "Fourth round"). Below that, 25 collects more often without using less:
// the heap's floor is 4 MB × GOGC/100 and each collection's own
// bookkeeping stays resident (8 accounts: 10.3 MB at 50, 11.1 MB at 25).
func gcPercent(accounts int) int {
	if accounts >= 128 {
		return 25
	}
	return 50
}
