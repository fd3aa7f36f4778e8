package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/agent/fxs"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/rig"
	"github.com/mwi-agent/mwi-agent/agent/web"
)

func init() {
	register(command{name: "demo", summary: "desktop demo: a virtual phone in the browser (the default)", run: runDemo})
}

// demoRig is everything the demo runs, built by startDemo (tests use it).
type demoRig struct {
	URL     string
	Server  *demo.Server
	Web     *web.Server
	Board   *simBoard
	Applier *indicate.Applier
	Port    *fxs.Port // the sim board's FXS line controller
	Rig     *rig.Rig
	done    chan error
}

// demoSettings are startDemoWith's knobs (tests shorten them).
type demoSettings struct {
	Server demo.Options  // the demo voicemail server (e.g. its expiry)
	Quiet  time.Duration // fxs.quiet of the sim FXS port; 0 = the config default (3 s)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpAddr := fs.String("http", "127.0.0.1:8080", "address of the web page")
	tui := fs.Bool("tui", false, "draw the phone in the terminal instead of (as well as) the browser")
	verbose := fs.Bool("v", false, "log SIP and device events to stderr")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rig, err := startDemo(ctx, *httpAddr, log, demo.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "mwi-agent demo: open %s\n", rig.URL)
	fmt.Fprintf(stdout, "Click \"Leave a voicemail\" and watch the message lamp; lift the handset for stutter dial tone. Ctrl-C stops.\n")
	if *tui {
		go runTUI(ctx, rig, stdout, true)
	}
	select {
	case <-ctx.Done():
		cancel()
		<-rig.done
		return nil
	case err := <-rig.done:
		return err
	}
}

// startDemo starts the demo voicemail server (srvOpt: tests shorten its
// expiry), the agent (on the sim board) and the web page; everything stops
// when ctx ends, then done receives.
func startDemo(ctx context.Context, httpAddr string, log *slog.Logger, srvOpt demo.Options) (*demoRig, error) {
	return startDemoWith(ctx, httpAddr, log, demoSettings{Server: srvOpt})
}

// startDemoWith is startDemo with every setting. The device is built by
// agent/rig like "mwi-agent run" builds it, on the sim board, with the demo
// server as its first part (it stops after the agent has un-SUBSCRIBEd)
// and the page's demo controls.
func startDemoWith(ctx context.Context, httpAddr string, log *slog.Logger, set demoSettings) (*demoRig, error) {
	srvOpt := set.Server
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srvOpt.Logger = log.With("part", "demo-server")
	srv, err := demo.New(srvOpt)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	cfg, err := demoConfig(srv)
	if err != nil {
		srv.Close()
		return nil, err
	}
	cfg.HTTP.Listen = httpAddr
	if set.Quiet > 0 {
		cfg.FXS.Quiet = set.Quiet
	}
	res, err := config.Resolve(cfg)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("demo configuration: %w", err)
	}
	board, err := rig.Open(res, log)
	if err != nil {
		srv.Close()
		return nil, err
	}
	r, err := rig.New(res, board, rig.Options{Logger: log, Demo: srv, Title: "mwi-agent demo", PageRequired: true})
	if err != nil {
		board.Devices.Close()
		srv.Close()
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%w (another demo running? try --http 127.0.0.1:0)", err)
		}
		return nil, err
	}
	r.AddFirst(rig.Part{Name: "demo server", Run: func(ctx context.Context) error {
		<-ctx.Done()
		srv.Close()
		return ctx.Err()
	}})
	d := &demoRig{URL: "http://" + r.PageAddr.String() + "/", Server: srv, Web: r.Web, Board: board.Sim,
		Applier: r.Applier, Port: r.Port, Rig: r, done: make(chan error, 1)}
	go func() {
		err := r.Run(ctx)
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "mwi-agent demo:", err)
		}
		d.done <- err
	}()
	return d, nil
}
