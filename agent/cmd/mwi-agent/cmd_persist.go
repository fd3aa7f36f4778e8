package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/persist"
)

func init() {
	runHooks = append(runHooks, func(ctx context.Context, a *agent.Agent, cfg *config.Config, log *slog.Logger) error {
		s := &persist.Saver{Dir: cfg.StateDir, Source: a, Logger: log}
		return s.Run(ctx)
	})
}

// restoreState shows the last known state from state_dir as "last known,
// unconfirmed" until the server confirms it. A missing file is normal; a
// damaged or foreign one is reported and ignored.
func restoreState(a *agent.Agent, cfg *config.Config, log *slog.Logger) {
	saved, last, err := persist.Load(cfg.StateDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return
	case errors.Is(err, persist.ErrCorrupt):
		log.Warn("persist: last known state ignored", "err", err)
		return
	case err != nil:
		log.Warn("persist: some accounts' last known state ignored", "err", err)
	}
	n := a.Restore(last)
	log.Info("persist: last known state restored, unconfirmed until the server reports", "accounts", n, "saved", saved.Format(time.RFC3339))
}
