package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends sd_notify messages to the service manager.
type Notifier struct {
	log    *slog.Logger
	stacks func() []StackGroup // Stacks; tests replace it
}

// New returns a Notifier that logs problems to log (nil: discard).
func New(log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Notifier{log: log, stacks: Stacks}
}

// Supervised reports whether a service manager listens (NOTIFY_SOCKET set).
func (n *Notifier) Supervised() bool { return os.Getenv("NOTIFY_SOCKET") != "" }

// notify sends state; it is a no-op without NOTIFY_SOCKET.
func (n *Notifier) notify(state string) error {
	sent, err := daemon.SdNotify(false, state)
	if err != nil {
		return fmt.Errorf("service: sd_notify %q: %w", firstLine(state), err)
	}
	_ = sent // false: not under a service manager
	return nil
}

// Ready tells the service manager that start-up is complete (READY=1).
func (n *Notifier) Ready() error { return n.notify(daemon.SdNotifyReady) }

// Stopping tells the service manager that a clean shutdown began.
func (n *Notifier) Stopping() error { return n.notify(daemon.SdNotifyStopping) }

// Status sets the one-line status "systemctl status" shows.
func (n *Notifier) Status(s string) error { return n.notify("STATUS=" + firstLine(s)) }

// Reload runs apply between RELOADING=1 and READY=1. When apply fails the
// service stays up with what it could apply, and STATUS= says why.
func (n *Notifier) Reload(apply func() error) error {
	if err := n.notify(daemon.SdNotifyReloading); err != nil {
		n.log.Warn("service: reload notification", "err", err)
	}
	err := apply()
	status := "STATUS=configuration reloaded"
	if err != nil {
		status = "STATUS=reload failed: " + firstLine(err.Error())
	}
	if e := n.notify(daemon.SdNotifyReady + "\n" + status); e != nil {
		n.log.Warn("service: ready notification", "err", e)
	}
	return err
}

// WatchdogInterval returns the unit's WatchdogSec for this process, or 0
// when the watchdog is off (or meant for another process).
func WatchdogInterval() (time.Duration, error) {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0, fmt.Errorf("service: watchdog: %w", err)
	}
	return d, nil
}

// Probe reports whether the supervised loop is alive. It must return by
// ctx's deadline; an error (or the deadline) means "do not ping".
type Probe func(ctx context.Context) error

// ErrWatchdogAbort is returned by RunWatchdog when the service manager
// sent SIGABRT (its watchdog expired): the caller should exit at once with
// a failure status (134, as an abort would); systemd restarts the service.
var ErrWatchdogAbort = errors.New("service: watchdog expired, aborted by the service manager (SIGABRT)")

// RunWatchdog pings the watchdog (WATCHDOG=1) every half interval while
// probe succeeds, until ctx ends; then it returns ctx.Err(). A failing probe
// skips the ping, so systemd restarts a wedged agent after WatchdogSec, and
// logs where the process's goroutines are, one line per group of identical
// stacks (Stacks). With the watchdog on, the SIGABRT systemd sends when it
// expires is caught and RunWatchdog returns ErrWatchdogAbort, instead of
// the Go runtime dumping every goroutine with arguments and file positions
// (hundreds of journal lines). SIGQUIT still gives that full dump.
// With the watchdog off it returns nil at once.
func (n *Notifier) RunWatchdog(ctx context.Context, probe Probe) error {
	interval, err := WatchdogInterval()
	if err != nil {
		return err
	}
	if interval <= 0 {
		return nil
	}
	abort := make(chan os.Signal, 1)
	signal.Notify(abort, syscall.SIGABRT)
	defer signal.Stop(abort)
	return n.runWatchdog(ctx, interval, probe, abort)
}

// maxStackGroups and maxFrames bound the goroutine report.
const (
	maxStackGroups = 30
	maxFrames      = 16
)

// logStacks logs the goroutine groups, one line each.
func (n *Notifier) logStacks(groups []StackGroup) {
	for i, g := range groups {
		if i == maxStackGroups {
			n.log.Error("service: goroutines", "more_groups", len(groups)-i)
			break
		}
		f := g.Funcs
		if len(f) > maxFrames {
			f = append(f[:maxFrames:maxFrames], "...")
		}
		n.log.Error("service: goroutines", "n", g.Count, "state", g.State, "stack", strings.Join(f, " < "))
	}
}

func (n *Notifier) runWatchdog(ctx context.Context, interval time.Duration, probe Probe, abort <-chan os.Signal) error {
	if probe == nil {
		return errors.New("service: watchdog: nil probe")
	}
	period := interval / 2
	// The probe gets most of a period; a loop slower than that is treated
	// as stuck for this round.
	probeTimeout := period * 3 / 4
	n.log.Debug("service: watchdog on", "interval", interval, "ping_every", period)
	t := time.NewTicker(period)
	defer t.Stop()
	failing := false
	ping := func() {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if !failing {
				n.log.Error("service: agent loop not answering; not pinging the watchdog", "err", err)
				_ = n.notify("STATUS=agent loop not answering: " + firstLine(err.Error()))
				n.logStacks(n.stacks())
			}
			failing = true
			return
		}
		if failing {
			n.log.Info("service: agent loop answers again")
			failing = false
		}
		if err := n.notify(daemon.SdNotifyWatchdog); err != nil {
			n.log.Warn("service: watchdog ping", "err", err)
		}
	}
	ping()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			ping()
		case <-abort:
			n.log.Error("service: watchdog expired (SIGABRT from the service manager); exiting for a restart")
			return ErrWatchdogAbort
		}
	}
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
