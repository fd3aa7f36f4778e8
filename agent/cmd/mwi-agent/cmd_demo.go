package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/agent/fxs"
	"github.com/mwi-agent/mwi-agent/agent/hw"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/web"
	"github.com/mwi-agent/mwi-agent/boards"
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

// startDemoWith is startDemo with every setting.
func startDemoWith(ctx context.Context, httpAddr string, log *slog.Logger, set demoSettings) (*demoRig, error) {
	srvOpt := set.Server
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := boards.Lookup("sim")
	if err != nil {
		return nil, err
	}
	board, err := hw.OpenSim(b, nil)
	if err != nil {
		return nil, err
	}
	srvOpt.Logger = log.With("part", "demo-server")
	srv, err := demo.New(srvOpt)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	src, runAgent, err := demoAgent(srv, log)
	if err != nil {
		srv.Close()
		return nil, err
	}
	pol := indicate.DefaultPolicy(len(board.LEDs), 1)
	pol.Title = "mwi-agent demo"
	applier := indicate.NewApplier(board.Devices(), renderer, log.With("part", "indicators"))
	// The sim FXS port: the page's handset moves the sim hook, the port
	// plays dial or stutter tone into the sim audio sink and reverses the
	// sim line (and sends FSK MWI) after the quiet time.
	def := config.Default()
	if set.Quiet > 0 {
		def.FXS.Quiet = set.Quiet
	}
	pctx, pcancel := context.WithCancel(ctx)
	port, portDone, err := startFXS(pctx, b, board.Devices(), def.FXS, def.Tones, applier, log)
	if err != nil {
		pcancel()
		srv.Close()
		return nil, err
	}
	stopPort := func() { pcancel(); <-portDone }
	w, err := web.New(web.Options{Source: src, Policy: pol, Board: board, Demo: srv, ToneWAV: toneWAV(b.Country),
		Title: "mwi-agent demo", Logger: log.With("part", "web")})
	if err != nil {
		stopPort()
		srv.Close()
		return nil, err
	}
	addrc := make(chan net.Addr, 1)
	rig := &demoRig{Server: srv, Web: w, Board: board, Applier: applier, Port: port, done: make(chan error, 1)}
	errc := make(chan error, 3)
	go func() { errc <- w.ListenAndServe(ctx, httpAddr, func(a net.Addr) { addrc <- a }) }()
	go func() { errc <- runAgent(ctx) }()
	if port == nil {
		go drainHook(ctx, board, log)
	}
	go func() { errc <- indicate.Drive(ctx, src, applier, pol, time.Minute) }()
	select {
	case a := <-addrc:
		rig.URL = "http://" + a.String() + "/"
	case err := <-errc:
		stopPort()
		srv.Close()
		if strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("%w (another demo running? try --http 127.0.0.1:0)", err)
		}
		return nil, err
	}
	go func() {
		var first error
		for i := 0; i < 3; i++ {
			if err := <-errc; err != nil && !errors.Is(err, context.Canceled) && first == nil {
				first = err
				if ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "mwi-agent demo:", err)
				}
			}
		}
		stopPort()
		board.Close()
		srv.Close()
		rig.done <- first
	}()
	return rig, nil
}

// drainHook consumes the simulated hook switch's events (logging them) so
// the page can lift the handset any number of times on a board whose hook
// no FXS line controller reads.
func drainHook(ctx context.Context, b *simBoard, log *slog.Logger) {
	if b.Hook == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-b.Hook.Events():
			if !ok {
				return
			}
			log.Info("hook", "off_hook", ev.OffHook)
		}
	}
}
