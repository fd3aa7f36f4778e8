package fxs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
	"github.com/mwi-agent/mwi-agent/tone"
)

// Devices are the port's hardware. Hook and Audio may be nil (no dial tone,
// no FSK and no off-hook detection then).
type Devices struct {
	Line  hal.Line
	Hook  hal.Hook
	Audio hal.AudioSink
}

// Options are the port's injected dependencies.
type Options struct {
	Clock  clock.Clock  // timers, pacing and event times; nil = wall clock
	Logger *slog.Logger // nil = discard
	Rate   int          // audio sample rate; 0 = 8000
	Level  float64      // dial tone level, dBm0; 0 = the tone package default
}

// Port runs one FXS port: the transition table of this package against
// real (or simulated) devices.
type Port struct {
	cfg  Config
	dev  Devices
	clk  clock.Clock
	log  *slog.Logger
	rate int
	lvl  float64

	in chan Event

	// count is the number of new messages the next ETSI message reports
	// (parameter 0x13); 0 = unknown. Set by SetCount from any goroutine.
	count atomic.Int64

	mu sync.Mutex
	st Status

	// Owned by the Run goroutine.
	timers   [numTimers]func() bool
	gens     [numTimers]uint64
	send     context.CancelFunc
	sendDone chan struct{}
	sendGen  uint64
	pol      hal.Polarity // the polarity the line rests in; an aborted transmission restores it
	hv       bool         // the HV relay state the line rests in
	sendPol  hal.Polarity // what the transmission in progress leaves: pol and hv at send-done
	sendHV   bool
	toneStop context.CancelFunc
	toneDone chan struct{}
}

// chunk is how much audio is written at a time (20 ms) to a sink the port
// paces; a TimedSink paces itself and gets 10 ms at a time, so that a
// cancelled transmission stops within one chunk.
const (
	chunk      = 20 * time.Millisecond
	timedChunk = 10 * time.Millisecond
)

// hvSettle is the pause after the HV relay drops before on-hook data, so
// that the data does not go out while the relay contacts move.
const hvSettle = 100 * time.Millisecond

// New checks cfg against the devices and returns a port, idle.
func New(cfg Config, dev Devices, opt Options) (*Port, error) {
	if dev.Line == nil {
		return nil, errors.New("fxs: no line")
	}
	if cfg.FSK && dev.Audio == nil {
		return nil, errors.New("fxs: signalling fsk needs an audio device")
	}
	cfg = cfg.withDefaults()
	if cfg.Country.Code == "" {
		c, err := tone.LookupCountry("us")
		if err != nil {
			return nil, fmt.Errorf("fxs: %w", err)
		}
		cfg.Country = c
	}
	for _, name := range []string{tone.Dial, tone.Stutter} {
		if _, err := cfg.Country.Plan(name); err != nil {
			return nil, fmt.Errorf("fxs: country %s: %w", cfg.Country.Code, err)
		}
	}
	p := &Port{cfg: cfg, dev: dev, clk: clock.Or(opt.Clock), log: opt.Logger, rate: opt.Rate, lvl: opt.Level,
		in: make(chan Event, 64)}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if r, ok := dev.Audio.(interface{ Rate() int }); ok && p.rate <= 0 {
		p.rate = r.Rate()
	}
	if p.rate <= 0 {
		p.rate = tone.DefaultSampleRate
	}
	return p, nil
}

// SetMWI tells the port whether messages wait and whether off-hook gives
// stutter tone (indicate.FXS). It never blocks for long.
func (p *Port) SetMWI(mwi, stutter bool) {
	p.post(Event{Kind: EvMWI, MWI: mwi, Stutter: stutter, At: p.clk.Now()})
}

// SetCount sets the number of new messages that the next on-hook MWI
// message reports where the format carries a count (ETSI parameter 0x13);
// 0 or less means unknown ("one or an unspecified number" is sent while
// messages wait). It does not by itself start a transmission.
func (p *Port) SetCount(n int) { p.count.Store(int64(max(n, 0))) }

// Ring starts or stops ringing (refused while off-hook).
func (p *Port) Ring(on bool) { p.post(Event{Kind: EvRing, On: on, At: p.clk.Now()}) }

func (p *Port) post(ev Event) { p.in <- ev }

// Status returns the port's current status.
func (p *Port) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// Run drives the port until ctx ends, then stops any tone or transmission
// and leaves the line forward, HV off, not ringing. It returns ctx.Err().
func (p *Port) Run(ctx context.Context) error {
	var hookEvents <-chan hal.HookEvent
	p.mu.Lock()
	p.st.OnHookAt = p.clk.Now()
	if p.dev.Hook != nil {
		hookEvents = p.dev.Hook.Events()
		if off, err := p.dev.Hook.OffHook(); err == nil && off {
			p.mu.Unlock()
			p.handle(Event{Kind: EvHook, OffHook: true, At: p.clk.Now()})
			p.mu.Lock()
		}
	}
	p.mu.Unlock()
	defer p.shutdown()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-p.in:
			p.handle(ev)
		case hev, ok := <-hookEvents:
			if !ok {
				hookEvents = nil
				continue
			}
			p.handle(Event{Kind: EvHook, OffHook: hev.OffHook, At: hev.At})
		}
	}
}

func (p *Port) handle(ev Event) {
	if t, ok := timerOf(ev.Kind); ok && ev.gen != p.gens[t] {
		return // a timer that was re-armed or cancelled
	}
	if ev.Kind == EvSendDone {
		if ev.gen != p.sendGen {
			return
		}
		p.pol, p.hv = p.sendPol, p.sendHV
	}
	p.mu.Lock()
	old := p.st
	st, acts := next(p.cfg, p.st, ev)
	p.st = st
	p.mu.Unlock()
	if st.State != old.State || len(acts) > 0 {
		p.log.Debug("fxs", "event", ev.Kind.String(), "from", old.State.String(), "to", st.State.String(), "actions", acts2s(acts))
	}
	for _, a := range acts {
		p.do(a)
	}
}

func acts2s(as []Action) []string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return s
}

func timerOf(k EventKind) (Timer, bool) {
	switch k {
	case EvQuiet:
		return TimerQuiet, true
	case EvRefresh:
		return TimerRefresh, true
	case EvFlashTimeout:
		return TimerFlash, true
	case EvDialTimeout:
		return TimerDial, true
	}
	return 0, false
}

var timerEvent = [numTimers]EventKind{TimerQuiet: EvQuiet, TimerRefresh: EvRefresh, TimerFlash: EvFlashTimeout, TimerDial: EvDialTimeout}

func (p *Port) do(a Action) {
	var err error
	switch a.Kind {
	case DoPolarity:
		pol := hal.PolarityForward
		if a.On {
			pol = hal.PolarityReversed
		}
		p.pol = pol
		err = p.dev.Line.SetPolarity(pol)
	case DoHV:
		p.hv = a.On
		err = p.dev.Line.SetHighVoltage(a.On)
	case DoRing:
		err = p.dev.Line.SetRing(a.On)
	case DoSend:
		p.startSend(a.On)
	case DoAbortSend:
		p.abortSend()
	case DoTone:
		p.startTone(a.On)
	case DoStopTone:
		p.stopTone()
	case DoStartTimer:
		p.cancelTimer(a.Timer)
		gen := p.gens[a.Timer]
		kind := timerEvent[a.Timer]
		p.timers[a.Timer] = p.clk.AfterFunc(a.D, func() {
			// Hand off; never block the clock.
			go p.post(Event{Kind: kind, At: p.clk.Now(), gen: gen})
		})
	case DoCancelTimer:
		p.cancelTimer(a.Timer)
	case DoFlash:
		p.log.Info("fxs: hook flash")
	}
	if err != nil {
		p.log.Warn("fxs: line action failed", "action", a.String(), "err", err)
	}
}

func (p *Port) cancelTimer(t Timer) {
	p.gens[t]++
	if p.timers[t] != nil {
		p.timers[t]()
		p.timers[t] = nil
	}
}

// sleep waits d on the port's clock, or until ctx ends.
func (p *Port) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	done := make(chan struct{})
	stop := p.clk.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		stop()
		return ctx.Err()
	}
}

// play writes pcm until done or ctx ends. A TimedSink is written 10 ms at
// a time (its Write blocks while its short buffer is full) and drained at
// the end, so that the next line step comes when the last sample has been
// played; any other sink gets 20 ms chunks paced by the clock.
func (p *Port) play(ctx context.Context, pcm []int16) error {
	ts, timed := p.dev.Audio.(hal.TimedSink)
	c := chunk
	if timed {
		c = timedChunk
	}
	n := p.rate * int(c/time.Millisecond) / 1000
	t0, played := p.clk.Now(), 0
	for len(pcm) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := pcm[:min(n, len(pcm))]
		if _, err := p.dev.Audio.Write(b); err != nil {
			return err
		}
		pcm = pcm[len(b):]
		if timed {
			continue
		}
		// Paced against the start, not the last write: a late wake-up is
		// made up by the next one instead of stretching the audio.
		played += len(b)
		due := t0.Add(time.Duration(played) * time.Second / time.Duration(p.rate))
		if err := p.sleep(ctx, due.Sub(p.clk.Now())); err != nil {
			return err
		}
	}
	if timed {
		if err := ctx.Err(); err != nil {
			return err
		}
		return ts.Drain()
	}
	return nil
}

// flush drops audio a TimedSink has not played yet: the handset was lifted.
func (p *Port) flush() {
	if ts, ok := p.dev.Audio.(hal.TimedSink); ok {
		_ = ts.Flush()
	}
}

// Sequence returns what the port sends for an MWI message: the configured
// alert around the FSK data.
func (p *Port) Sequence(mwi bool) tone.AlertSequence {
	return Sequence(p.cfg, mwi, int(p.count.Load()), p.rate, p.clk.Now())
}

// Sequence builds the alert + FSK sequence for one MWI message. count is
// the number of new messages for ETSI parameter 0x13; 0 (unknown) with
// mwi on sends 1, "one or an unspecified number", never 0 (tone.MWIMessage).
func Sequence(cfg Config, mwi bool, count, rate int, now time.Time) tone.AlertSequence {
	msg := tone.MWIMessage(cfg.Format, mwi, tone.MsgOptions{Time: now, Count: count})
	data := tone.ModulateFSK(msg, tone.FSKOptions{Standard: cfg.Standard, Rate: rate})
	return tone.NewAlertSequence(cfg.Alert, data, tone.Options{Rate: rate})
}

func (p *Port) startSend(mwi bool) {
	p.abortSend()
	ctx, cancel := context.WithCancel(context.Background())
	p.sendGen++
	gen := p.sendGen
	done := make(chan struct{})
	p.send, p.sendDone = cancel, done
	seq := p.Sequence(mwi)
	p.sendPol, p.sendHV = hal.PolarityForward, p.cfg.HV && mwi
	if p.cfg.Polarity && mwi {
		p.sendPol = hal.PolarityReversed
	}
	plan := linePlan{from: p.pol, to: p.sendPol, hvFrom: p.hv, hvTo: p.sendHV}
	go func() {
		defer close(done)
		err := p.runSequence(ctx, seq, plan)
		if ctx.Err() != nil {
			return // aborted: the loop knows
		}
		if err != nil {
			p.log.Warn("fxs: sending MWI failed", "err", err)
		}
		p.post(Event{Kind: EvSendDone, At: p.clk.Now(), gen: gen})
	}()
}

// linePlan is the line state a transmission starts from and leaves.
type linePlan struct {
	from, to     hal.Polarity
	hvFrom, hvTo bool
}

// runSequence sends seq on the line. HV goes off first (the neon voltage
// and the data cannot share the line); the line-reversal alert flips the
// polarity from plan.from, and its closing "restore" step sets plan.to, so
// an MWI polarity change is the alert's own reversal and never cancels it;
// without that alert, the polarity changes DataToRestore after the data,
// never during it; HV comes back on last.
func (p *Port) runSequence(ctx context.Context, seq tone.AlertSequence, plan linePlan) error {
	cur := plan.from
	setPol := func(pol hal.Polarity) error {
		if pol == cur {
			return nil
		}
		cur = pol
		return p.dev.Line.SetPolarity(pol)
	}
	if plan.hvFrom {
		if err := p.dev.Line.SetHighVoltage(false); err != nil {
			return err
		}
		if err := p.sleep(ctx, hvSettle); err != nil {
			return err
		}
	}
	// With a TimedSink, silences next to audio are played as silence: a
	// run of silence and audio goes out as one stream, timed by the card's
	// sample clock instead of timer wake-ups, and is drained before the
	// next line step. That keeps "line step → first sample" and "last
	// sample → line step" at what the sequence asks for.
	_, timed := p.dev.Audio.(hal.TimedSink)
	var pend []int16
	flushAudio := func() error {
		if len(pend) == 0 {
			return nil
		}
		err := p.play(ctx, pend)
		pend = nil
		return err
	}
	silence := func(d time.Duration) []int16 {
		return make([]int16, int(d*time.Duration(p.rate)/time.Second))
	}
	for _, st := range seq {
		var err error
		switch st.Action {
		case tone.ActSilence:
			if timed {
				pend = append(pend, silence(st.Duration)...)
				continue
			}
			err = p.sleep(ctx, st.Duration)
		case tone.ActAudio, tone.ActData:
			if timed {
				pend = append(pend, st.PCM...)
				continue
			}
			err = p.play(ctx, st.PCM)
		case tone.ActPolarity:
			if err = flushAudio(); err != nil {
				return err
			}
			pol := plan.to
			if st.Reversed {
				pol = flip(plan.from)
			}
			err = setPol(pol)
		case tone.ActRing:
			if err = flushAudio(); err != nil {
				return err
			}
			if err = p.dev.Line.SetRing(true); err == nil {
				err = p.sleep(ctx, st.Duration)
				if e := p.dev.Line.SetRing(false); err == nil {
					err = e
				}
			}
		}
		if err != nil {
			return err
		}
	}
	if cur != plan.to {
		if timed {
			pend = append(pend, silence(tone.DataToRestore)...)
		} else if err := p.sleep(ctx, tone.DataToRestore); err != nil {
			return err
		}
	}
	if err := flushAudio(); err != nil {
		return err
	}
	if err := setPol(plan.to); err != nil {
		return err
	}
	if plan.hvTo {
		return p.dev.Line.SetHighVoltage(true)
	}
	return nil
}

func flip(p hal.Polarity) hal.Polarity {
	if p == hal.PolarityReversed {
		return hal.PolarityForward
	}
	return hal.PolarityReversed
}

// abortSend stops a transmission and waits for it (at most one audio
// chunk), drops the audio the sink has not played, then undoes what an
// interrupted alert may have left: ringing (a ring-pulse alert), a flipped
// polarity (a line-reversal alert). The line goes back to the polarity it
// rested in before the transmission.
func (p *Port) abortSend() {
	if p.send == nil {
		return
	}
	p.send()
	<-p.sendDone
	p.flush()
	p.send, p.sendDone = nil, nil
	p.sendGen++
	_ = p.dev.Line.SetRing(false)
	_ = p.dev.Line.SetPolarity(p.pol)
	// HV is not put back here: the lift that aborted the transmission
	// must not see it, and the next transmission or the table sets it.
}

func (p *Port) startTone(stutter bool) {
	p.stopTone()
	if p.dev.Audio == nil {
		return
	}
	name := tone.Dial
	if stutter {
		name = tone.Stutter
	}
	plan, err := p.cfg.Country.Plan(name)
	if err != nil {
		p.log.Warn("fxs: tone", "err", err)
		return
	}
	g := tone.NewGenerator(plan, tone.Options{Rate: p.rate, LevelDBm0: p.lvl})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p.toneStop, p.toneDone = cancel, done
	go func() {
		defer close(done)
		_, timed := p.dev.Audio.(hal.TimedSink)
		c := chunk
		if timed {
			c = timedChunk
		}
		buf := make([]int16, p.rate*int(c/time.Millisecond)/1000)
		for ctx.Err() == nil {
			n, err := g.Read(buf)
			if n > 0 {
				if _, werr := p.dev.Audio.Write(buf[:n]); werr != nil {
					return
				}
				if !timed && p.sleep(ctx, time.Duration(n)*time.Second/time.Duration(p.rate)) != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
}

func (p *Port) stopTone() {
	if p.toneStop == nil {
		return
	}
	p.toneStop()
	<-p.toneDone
	p.flush()
	p.toneStop, p.toneDone = nil, nil
}

func (p *Port) shutdown() {
	p.abortSend()
	p.stopTone()
	for t := Timer(0); t < numTimers; t++ {
		p.cancelTimer(t)
	}
	_ = p.dev.Line.SetRing(false)
	_ = p.dev.Line.SetHighVoltage(false)
	_ = p.dev.Line.SetPolarity(hal.PolarityForward)
}

// Transmit runs one alert+FSK sequence on dev now, on the wall clock. The
// caller makes sure the phone is on-hook (selftest); Port does this itself.
func Transmit(ctx context.Context, dev Devices, seq tone.AlertSequence, rate int) error {
	if rate <= 0 {
		rate = tone.DefaultSampleRate
	}
	p := &Port{dev: dev, clk: clock.Real{}, rate: rate, log: slog.New(slog.DiscardHandler)}
	return p.runSequence(ctx, seq, linePlan{})
}
