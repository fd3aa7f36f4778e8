package rig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/agent/fxs"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/internal/latest"
	"github.com/mwi-agent/mwi-agent/agent/metrics"
	"github.com/mwi-agent/mwi-agent/agent/mqtt"
	"github.com/mwi-agent/mwi-agent/agent/service"
	"github.com/mwi-agent/mwi-agent/agent/web"
	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/display"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// Part is one long-running piece of the device.
type Part struct {
	Name string
	// Run runs until ctx ends and then returns ctx.Err(); returning nil
	// earlier means the part has nothing (more) to do.
	Run func(ctx context.Context) error
	// Optional: an error is logged and listed in Problems instead of
	// stopping the device.
	Optional bool
}

// Options are the rig's injected dependencies and per-command settings.
type Options struct {
	Logger *slog.Logger
	// Clock times the agent, the indicators, the FXS port, the status
	// page and the rig's own waits; nil: the wall clock. The board's
	// devices keep the clock they were opened with (rig.Open: the wall
	// clock) and stamp hook events with it, which the FXS port compares
	// with its own times: a clock other than the wall clock fits a board
	// opened on the same clock, or a testing/synctest bubble.
	Clock clock.Clock

	// Demo enables the page's demo controls (the demo voicemail server).
	Demo *demo.Server
	// Title is the page's and the display's title; "" = "mwi-agent".
	Title string
	// StatusSocket is the path of the local status socket; "" = none.
	StatusSocket string
	// Notify sends systemd notifications (READY=1 once the agent started
	// and the indicators showed their first state; WATCHDOG=1; STATUS=).
	// A no-op outside systemd.
	Notify bool
	// PageRequired makes a status page that cannot listen fatal (the demo);
	// otherwise it is a Problem and the device runs without it.
	PageRequired bool
	// Refresh re-writes every indicator this often; 0 = one minute.
	Refresh time.Duration
	// Persist restores the last known state from state_dir at start (shown
	// as unconfirmed until the server confirms it) and keeps saving it.
	Persist bool
}

// Rig is one device: its parts and what they share.
type Rig struct {
	Config  *config.Resolved
	Board   Board // its Devices are closed when Run ends
	Agent   *agent.Agent
	Policy  indicate.Policy
	Applier *indicate.Applier
	Port    *fxs.Port   // nil without an FXS line
	Web     *web.Server // nil without http.listen (or when it could not listen)
	// PageAddr is where the status page listens; nil without one.
	PageAddr net.Addr
	Metrics  *metrics.Metrics // nil unless http.metrics
	MQTT     *mqtt.Client     // nil without mqtt.broker

	log     *slog.Logger
	opt     Options
	parts   []Part
	ready   chan struct{}
	applied chan struct{} // closed by the first apply

	mu       sync.Mutex
	problems []string
	running  bool
}

// DefaultRefresh is how often every indicator is re-written (a glitch on
// real hardware heals within it).
const DefaultRefresh = time.Minute

// New builds the device of cfg on board (see Open). It opens nothing else,
// except the status page's listening socket (so a taken port is known at
// once). On error it closes nothing: the board stays the caller's.
func New(cfg *config.Resolved, board Board, opt Options) (*Rig, error) {
	if cfg == nil {
		return nil, errors.New("rig: no configuration")
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	opt.Clock = clock.Or(opt.Clock)
	if opt.Title == "" {
		opt.Title = "mwi-agent"
	}
	if opt.Refresh <= 0 {
		opt.Refresh = DefaultRefresh
	}
	log := opt.Logger
	b, dev := board.Def, board.Devices
	r := &Rig{Config: cfg, Board: board, log: log, opt: opt, ready: make(chan struct{})}

	r.Metrics = newMetrics(r)
	aopt := agent.Options{Logger: log.With("part", "agent"), Clock: opt.Clock}
	if r.Metrics != nil {
		aopt.Observer = r.Metrics
	}
	a, err := agent.New(cfg, aopt)
	if err != nil {
		return nil, err
	}
	r.Agent = a
	if len(cfg.Accounts) == 0 {
		log.Warn("no accounts configured: nothing will be registered or subscribed, and the lamp stays off")
	}
	r.Policy = cfg.Policy
	r.Policy.Title = opt.Title
	render := indicate.Renderer(display.Render)
	if board.Sim != nil && cfg.HTTP.Listen == "" {
		render = nil // a simulated display is only ever seen through the status page
	}
	r.Applier = indicate.NewApplier(dev, indicate.ApplierOptions{Render: render, Logger: log.With("part", "indicators"), Clock: opt.Clock})
	r.applied = make(chan struct{})
	var once sync.Once
	r.Applier.OnApply(func(indicate.Outputs) { once.Do(func() { close(r.applied) }) })
	r.noteMissing()

	var ln net.Listener
	if cfg.HTTP.Listen != "" {
		ln, err = r.listenPage()
		if err != nil && opt.PageRequired {
			return nil, err
		}
		if err != nil {
			r.problem("status page", err)
		}
	}
	if b.FXS != nil && dev.Line != nil {
		err := fmt.Errorf("rig: board %s has an FXS port, the configuration's board %s has none", b.Name, cfg.Board.Name)
		if cfg.FXSPort != nil {
			r.Port, err = fxs.New(*cfg.FXSPort, fxs.Devices{Line: dev.Line, Hook: dev.Hook, Audio: dev.Audio},
				fxs.Options{Logger: log.With("part", "fxs"), Level: cfg.Tones.LevelDBm0, Clock: opt.Clock})
		}
		if err != nil {
			if ln != nil {
				ln.Close()
			}
			return nil, err
		}
	}

	// The parts, in start order (they stop in reverse).
	r.parts = append(r.parts, Part{Name: "agent", Run: r.Agent.Run})
	if opt.StatusSocket != "" {
		r.parts = append(r.parts, Part{Name: "status socket", Run: r.runStatusSocket, Optional: true})
	}
	if r.Port != nil {
		r.parts = append(r.parts, Part{Name: "fxs port", Run: r.Port.Run},
			Part{Name: "fxs feed", Run: r.feedPort()})
	} else if dev.Hook != nil {
		r.parts = append(r.parts, Part{Name: "hook", Run: r.drainHook, Optional: true})
	}
	r.parts = append(r.parts, Part{Name: "indicators", Run: r.runIndicators})
	if opt.Persist {
		r.addPersist()
	}
	if err := r.addMQTT(); err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, err
	}
	if ln != nil {
		wo := web.Options{Source: a, Applied: r.Applier, Render: display.Render, DisplayInfo: displayInfo(b, dev),
			ToneWAV: ToneWAV(cfg.Country.Code), Token: cfg.HTTP.Token, Hosts: cfg.HTTP.Hosts,
			Problems: r.Problems, Title: opt.Title, Logger: log.With("part", "web"), Clock: opt.Clock,
			Manual: a.Manual, Diag: func() any { return a.Diagnostics() }}
		if r.Metrics != nil {
			wo.Metrics = r.Metrics.Handler(a)
		}
		if board.Sim != nil {
			wo.Device = newSimDevice(board.Sim)
		}
		if opt.Demo != nil {
			wo.Demo = demoControls{opt.Demo}
		}
		w, err := web.New(wo)
		if err != nil {
			ln.Close()
			return nil, err
		}
		r.Web, r.PageAddr = w, ln.Addr()
		r.parts = append(r.parts, Part{Name: "status page", Optional: !opt.PageRequired,
			Run: func(ctx context.Context) error { return w.Serve(ctx, ln) }})
	}
	if opt.Notify {
		r.parts = append(r.parts, Part{Name: "service", Run: r.runService, Optional: true})
	}
	return r, nil
}

// Add appends p: it starts after the parts already listed and stops
// before them. Call it before Run.
func (r *Rig) Add(p Part) { r.parts = append(r.parts, p) }

// AddFirst puts p at the head of the list: it starts before the agent and
// stops after it (a server the agent talks to, a state restore).
func (r *Rig) AddFirst(p Part) { r.parts = append([]Part{p}, r.parts...) }

// Parts names the parts in start order.
func (r *Rig) Parts() []string {
	names := make([]string, len(r.parts))
	for i, p := range r.parts {
		names[i] = p.Name
	}
	return names
}

// Ready is closed once the agent has started its accounts and the
// indicators have shown their first state.
func (r *Rig) Ready() <-chan struct{} { return r.ready }

// Problems lists what does not work as configured (a board device that
// did not open, a status page that cannot listen, a failed optional part,
// an indicator write that failed last time), one line each.
func (r *Rig) Problems() []string {
	r.mu.Lock()
	out := append([]string(nil), r.problems...)
	r.mu.Unlock()
	if err := r.Applier.Err(); err != nil {
		out = append(out, err.Error())
	}
	return out
}

func (r *Rig) problem(what string, err error) {
	r.log.Error(what, "err", err)
	r.mu.Lock()
	r.problems = append(r.problems, what+": "+err.Error())
	r.mu.Unlock()
}

// noteMissing lists the board's devices that are defined but did not open
// (hw.Open runs a lamp without a display it cannot open).
func (r *Rig) noteMissing() {
	b, d := r.Board.Def, r.Board.Devices
	if b.Display != nil && d.Display == nil {
		r.problem("display", fmt.Errorf("%s on bus %q is not working; the board runs without it", b.Display.Driver, b.Display.Bus))
	}
	if b.Lamp.IsSet() && d.Lamp == nil {
		r.problem("lamp", fmt.Errorf("%s is not working", b.Lamp))
	}
	if len(d.LEDs) < len(b.LEDs) {
		r.problem("leds", fmt.Errorf("%d of %d LEDs are not working", len(b.LEDs)-len(d.LEDs), len(b.LEDs)))
	}
	if b.FXS != nil && d.Line == nil {
		r.problem("fxs", errors.New("the board's FXS line is not working"))
	}
}

func (r *Rig) listenPage() (net.Listener, error) {
	addr := r.Config.HTTP.Listen
	if err := web.CheckListen(addr, r.Config.HTTP.Token); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		hint := ""
		if errors.Is(err, syscall.EADDRINUSE) && !r.opt.PageRequired {
			hint = " (another mwi-agent running? set http.listen to a free port, or \"\" for no page)"
		}
		return nil, fmt.Errorf("rig: status page http.listen %q: %w%s", addr, err, hint)
	}
	r.log.Info("status page", "url", "http://"+ln.Addr().String()+"/")
	return ln, nil
}

// displayInfo: the opened display's, else the board definition's (the
// page draws what the display would show even when it did not open).
func displayInfo(b boards.Board, dev hal.Devices) hal.DisplayInfo {
	if dev.Display != nil {
		return dev.Display.Info()
	}
	if d := b.Display; d != nil {
		return hal.DisplayInfo{Kind: hal.DisplayGraphic, Width: d.Width, Height: d.Height}
	}
	return hal.DisplayInfo{}
}

// Run starts every part in order and runs until ctx ends or a required
// part fails; then it stops the parts in reverse order, closes the
// devices and returns the failure, or ctx.Err().
func (r *Rig) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("rig: already running")
	}
	r.running = true
	r.mu.Unlock()
	defer func() {
		if err := r.Board.Devices.Close(); err != nil {
			r.log.Warn("closing the devices", "err", err)
		}
	}()

	type result struct {
		i   int
		err error
	}
	n := len(r.parts)
	results := make(chan result, n)
	cancels := make([]context.CancelFunc, n)
	ended := make([]bool, n)
	base := context.WithoutCancel(ctx)
	for i, p := range r.parts {
		pctx, cancel := context.WithCancel(base)
		cancels[i] = cancel
		go func() { results <- result{i, p.Run(pctx)} }()
	}
	go func() {
		select {
		case <-r.Agent.Started():
		case <-ctx.Done():
			return
		}
		select {
		case <-r.applied:
			close(r.ready)
		case <-ctx.Done():
		}
	}()

	var fatal error
	handle := func(res result, stopping bool) {
		ended[res.i] = true
		p := r.parts[res.i]
		if res.err == nil || stopping && errors.Is(res.err, context.Canceled) {
			return
		}
		if p.Optional {
			r.problem(p.Name, res.err)
			return
		}
		if fatal == nil {
			fatal = fmt.Errorf("rig: %s: %w", p.Name, res.err)
		}
	}
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case res := <-results:
			handle(res, false)
			if fatal != nil {
				r.log.Error("stopping: a required part failed", "err", fatal)
				break wait
			}
		}
	}
	for i := n - 1; i >= 0; i-- {
		cancels[i]()
		t := r.opt.Clock.NewTimer(stopTimeout)
		for !ended[i] {
			select {
			case res := <-results:
				handle(res, true)
			case <-t.C():
				r.log.Error("part did not stop", "part", r.parts[i].Name, "after", stopTimeout)
				ended[i] = true
			}
		}
		t.Stop()
	}
	if fatal != nil {
		return fatal
	}
	return ctx.Err()
}

// stopTimeout bounds the wait for one part to stop (the agent's own
// un-REGISTER is bounded by agent.ShutdownTimeout).
const stopTimeout = agent.ShutdownTimeout + 5*time.Second

func (r *Rig) runIndicators(ctx context.Context) error {
	return indicate.Drive(ctx, r.Agent, r.Applier, r.Policy, r.opt.Refresh)
}

// feedPort hands the FXS outputs of the applied Outputs to the port from
// its own goroutine, keeping only the latest: the indicators never wait for
// the port, and a change the port has not taken yet is replaced by a newer
// one. Only changes are passed on (OnApply also runs for every refresh).
func (r *Rig) feedPort() func(ctx context.Context) error {
	var (
		mu      sync.Mutex
		want    *indicate.FXS
		changed latest.Signal
	)
	r.Applier.OnApply(func(out indicate.Outputs) {
		if len(out.FXS) == 0 {
			return
		}
		f := out.FXS[0]
		mu.Lock()
		want = &f
		mu.Unlock()
		changed.Notify()
	})
	return func(ctx context.Context) error {
		ch, cancel := changed.Subscribe()
		defer cancel()
		var sent *indicate.FXS
		for {
			mu.Lock()
			f := want
			mu.Unlock()
			if f != nil && (sent == nil || sent.MWI != f.MWI || sent.Stutter != f.Stutter || sent.Count != f.Count) {
				r.Port.SetCount(f.Count)
				r.Port.SetMWI(f.MWI, f.Stutter)
				sent = f
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-ch:
			}
		}
	}
}

// drainHook consumes a hook switch no FXS port reads (logging it), so the
// page can lift the simulated handset any number of times.
func (r *Rig) drainHook(ctx context.Context) error {
	ev := r.Board.Devices.Hook.Events()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-ev:
			if !ok {
				<-ctx.Done()
				return ctx.Err()
			}
			r.log.Info("hook", "off_hook", e.OffHook)
		}
	}
}

func (r *Rig) runStatusSocket(ctx context.Context) error {
	path := r.opt.StatusSocket
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	return r.Agent.ServeStatus(ctx, path)
}

// runService: READY=1 once Ready, STATUS= with the account count and any
// problems, WATCHDOG=1 while the agent loop answers, STOPPING=1 on the way
// out. Outside systemd it returns nil at once.
func (r *Rig) runService(ctx context.Context) error {
	n := service.New(r.log)
	if !n.Supervised() {
		return nil
	}
	select {
	case <-r.Ready():
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := n.Ready(); err != nil {
		return err
	}
	r.log.Info("service: ready")
	go func() {
		err := n.RunWatchdog(ctx, r.Agent.Ping)
		if errors.Is(err, service.ErrWatchdogAbort) {
			// systemd's watchdog expired and it sent SIGABRT: exit as the
			// abort would have (without the runtime's dump of every
			// goroutine); Restart=on-failure starts the agent again.
			os.Exit(134)
		}
		if err != nil && ctx.Err() == nil {
			r.log.Error("service: watchdog", "err", err)
		}
	}()
	last := ""
	for {
		s := r.StatusLine()
		if s != last {
			_ = n.Status(s)
			last = s
		}
		t := r.opt.Clock.NewTimer(10 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			_ = n.Stopping()
			return ctx.Err()
		case <-t.C():
		}
	}
}

// StatusLine is one line for systemd's STATUS=: the account count, and
// the problems when there are any.
func (r *Rig) StatusLine() string {
	s := fmt.Sprintf("running, %d accounts", len(r.Config.Accounts))
	if len(r.Config.Accounts) == 1 {
		s = "running, 1 account"
	}
	if p := r.Problems(); len(p) > 0 {
		s += "; PROBLEM: " + strings.Join(p, "; ")
	}
	return s
}
