package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/service"
)

// Under systemd (Type=notify, WatchdogSec): READY=1 once the agent started
// its accounts, WATCHDOG=1 only while the agent loop answers, STOPPING=1 on
// the way out. The reload notifications are in cmd_run.go's SIGHUP handler.
// Outside systemd all of it is a no-op.
func init() { runHooks = append(runHooks, serviceHook) }

func serviceHook(ctx context.Context, a *agent.Agent, cfg *config.Config, log *slog.Logger) error {
	n := service.New(log)
	if !n.Supervised() {
		return nil
	}
	select {
	case <-a.Started():
	case <-ctx.Done():
		return nil
	}
	if err := n.Ready(); err != nil {
		return err
	}
	_ = n.Status(fmt.Sprintf("running, %d accounts", len(cfg.Accounts)))
	log.Info("service: ready")
	go func() {
		err := n.RunWatchdog(ctx, a.Ping)
		if errors.Is(err, service.ErrWatchdogAbort) {
			os.Exit(134) // as the abort would have; systemd restarts the service
		}
		if err != nil && ctx.Err() == nil {
			log.Error("service: watchdog", "err", err)
		}
	}()
	<-ctx.Done()
	_ = n.Stopping()
	return nil
}
