package main

import (
	"context"
	"log/slog"

	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/agent/web"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

type simBoard = sim.Board

// The parts that switch from stand-ins to the real packages as they land.
var (
	renderer = fallbackRender
	toneWAV  = fallbackWAV
)

// demoAgent returns the snapshot source for the page and indicators and
// the function that runs it.
func demoAgent(srv *demo.Server, log *slog.Logger) (web.Source, func(context.Context) error, error) {
	src := &directSource{srv: srv}
	return src, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, nil
}
