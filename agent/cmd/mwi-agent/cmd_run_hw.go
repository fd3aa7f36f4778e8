package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/hw"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/web"
	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/display"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

// "mwi-agent run" drives the configured board's indicators and serves the
// status page (http.listen) through cmd_run.go's hook list.
func init() { runHooks = append(runHooks, runIndicators) }

// indicatorRefresh re-writes every output this often on real hardware.
const indicatorRefresh = time.Minute

// runIndicators opens the board (board + board_overrides), applies the
// indicator policy to every snapshot of a until ctx ends, and serves the
// status page when http.listen is set. The lamp goes dark on the way out.
func runIndicators(ctx context.Context, a *agent.Agent, cfg *config.Config, log *slog.Logger) error {
	b, err := cfg.ResolveBoard()
	if err != nil {
		return fmt.Errorf("board: %w", err)
	}
	var dev hal.Devices
	var simb *sim.Board
	if b.Backend == boards.BackendSim {
		simb, err = hw.OpenSim(b, nil)
		if err == nil {
			dev = simb.Devices()
			go drainHook(ctx, simb, log)
		}
	} else {
		dev, err = hw.Open(b, log)
	}
	if err != nil {
		return fmt.Errorf("board %s: %w", b.Name, err)
	}
	defer dev.Close()
	pol := indicate.PolicyFromConfig(cfg, b)
	app := indicate.NewApplier(dev, display.Render, log.With("part", "indicators"))
	if cfg.HTTP.Listen != "" {
		info := hal.DisplayInfo{}
		if d := b.Display; d != nil {
			info = hal.DisplayInfo{Kind: hal.DisplayGraphic, Width: d.Width, Height: d.Height}
		}
		w, err := web.New(web.Options{Source: a, Policy: pol, Board: simb, Render: display.Render, DisplayInfo: info,
			ToneWAV: toneWAV(b.Country), Token: cfg.HTTP.Token, Title: "mwi-agent", Logger: log.With("part", "web")})
		if err != nil {
			return err
		}
		// The status page failing (e.g. its port is taken) is logged;
		// the indicators keep running.
		go func() {
			err := w.ListenAndServe(ctx, cfg.HTTP.Listen, func(addr net.Addr) {
				log.Info("status page", "url", "http://"+addr.String()+"/")
			})
			if err != nil && ctx.Err() == nil {
				log.Error("status page", "listen", cfg.HTTP.Listen, "err", err)
			}
		}()
	}
	return indicate.Drive(ctx, a, app, pol, indicatorRefresh)
}
