package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/fxs"
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
		}
	} else {
		dev, err = hw.Open(b, log)
	}
	if err != nil {
		return fmt.Errorf("board %s: %w", b.Name, err)
	}
	defer dev.Close()
	pol := indicate.PolicyFromConfig(cfg, b)
	render := indicate.Renderer(display.Render)
	if simb != nil && cfg.HTTP.Listen == "" {
		render = nil // a simulated display is only ever seen through the status page
	}
	app := indicate.NewApplier(dev, render, log.With("part", "indicators"))
	fctx, fcancel := context.WithCancel(ctx)
	port, portDone, err := startFXS(fctx, b, dev, cfg.FXS, cfg.Tones, app, log)
	if err != nil {
		fcancel()
		return err
	}
	// The port leaves the line forward before the devices close.
	defer func() { fcancel(); <-portDone }()
	if port == nil && simb != nil {
		go drainHook(ctx, simb, log)
	}
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

// startFXS creates the line controller of the board's FXS port (when the
// board has one and dev holds its line), runs it until ctx ends, and hands
// it the FXS outputs of every Outputs app applies. It returns a nil port
// when there is no port; done closes once the port has stopped (line
// forward, HV off, no tone) — at once when there is none.
func startFXS(ctx context.Context, b boards.Board, dev hal.Devices, fc config.FXSConfig, tc config.ToneConfig,
	app *indicate.Applier, log *slog.Logger) (*fxs.Port, <-chan struct{}, error) {
	done := make(chan struct{})
	if b.FXS == nil || dev.Line == nil {
		close(done)
		return nil, done, nil
	}
	fcfg, err := fxs.ConfigFrom(b, fc, tc)
	if err != nil {
		close(done)
		return nil, done, err
	}
	port, err := fxs.New(fcfg, fxs.Devices{Line: dev.Line, Hook: dev.Hook, Audio: dev.Audio},
		fxs.Options{Logger: log.With("part", "fxs"), Level: tc.LevelDBm0})
	if err != nil {
		close(done)
		return nil, done, err
	}
	go func() {
		defer close(done)
		_ = port.Run(ctx)
	}()
	// OnApply runs for every Apply (each snapshot and each refresh): pass
	// on changes only, so the port's queue never fills.
	var last *indicate.FXS
	app.OnApply(func(out indicate.Outputs) {
		if len(out.FXS) == 0 {
			return
		}
		f := out.FXS[0]
		if last != nil && last.MWI == f.MWI && last.Stutter == f.Stutter {
			return
		}
		last = &f
		port.SetMWI(f.MWI, f.Stutter)
	})
	return port, done, nil
}
