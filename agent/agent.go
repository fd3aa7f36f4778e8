package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/internal/latest"
	"github.com/mwi-agent/mwi-agent/agent/sipua"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// Options are the agent's injected dependencies.
type Options struct {
	Logger *slog.Logger
	Clock  clock.Clock // nil: the wall clock
	// Observer is told about SIP traffic (metrics); the agent keeps the
	// troubleshooting view (Diagnostics) itself and passes every call on.
	Observer sipua.Observer
}

// ShutdownTimeout bounds Run's clean shutdown (un-SUBSCRIBE, un-REGISTER).
const ShutdownTimeout = 5 * time.Second

// spec is one account as the loop runs it.
type spec struct {
	sip   sipua.AccountConfig
	label string
	aor   string
}

// uaSpec is what the shared user agent needs (changing it needs a restart).
type uaSpec struct {
	opts   sipua.Options
	tlsKey any // the TLS settings the TLSConfig was built from
}

// Agent is the message-waiting agent: one loop goroutine owns the state of
// every account; SIP workers send it updates; readers get snapshots.
type Agent struct {
	log   *slog.Logger
	clock clock.Clock

	mu     sync.Mutex // guards specs/uaspec before Run, pub, watchers, running
	specs  []spec
	uaspec uaSpec
	// pub is the state: the loop's own while Run runs (it changes it in
	// place, under mu; readers copy it under mu), else what Restore and
	// reload set.
	pub     state.Snapshot
	changed latest.Signal // tells the watchers
	// shared is the watchers' read-only copy of pub, made by the first
	// watcher that asks after a change (valid while sharedOK) and handed
	// to every watcher: one copy per change, not one per watcher.
	shared   state.Snapshot
	sharedOK bool
	running  bool
	cmds     chan func(*loop)

	started     chan struct{}
	startedOnce sync.Once

	diag diagStore // Diagnostics (diag.go)
}

func newAgent(specs []spec, us uaSpec, opts Options) *Agent {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts.Clock = clock.Or(opts.Clock)
	a := &Agent{
		log: opts.Logger, clock: opts.Clock, specs: specs, uaspec: us,
		cmds:    make(chan func(*loop)),
		started: make(chan struct{}), diag: diagStore{next: opts.Observer},
	}
	a.pub = initialSnapshot(specs, a.clock.Now())
	return a
}

func initialSnapshot(specs []spec, now time.Time) state.Snapshot {
	s := state.Snapshot{At: now}
	if len(specs) > 0 {
		s.Accounts = make([]state.Account, 0, len(specs))
	}
	for _, sp := range specs {
		s.Accounts = append(s.Accounts, newAccountState(sp, now))
	}
	return s
}

func newAccountState(sp spec, now time.Time) state.Account {
	h := state.HealthRegistering
	switch {
	case !sp.sip.Register && !sp.sip.Subscribe:
		h = state.HealthDisabled
	case !sp.sip.Register:
		h = state.HealthSubscribing
	}
	return state.Account{Name: sp.sip.Name, Label: sp.label, AOR: sp.aor, Health: h, Since: now}
}

// Snapshot returns a consistent deep copy of the current state.
func (a *Agent) Snapshot() state.Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pub.Clone()
}

// watchGap bounds how often a watcher copies the state: each copy holds
// every account, and one copy per update — for every watcher, whether it
// waits (persistence, MQTT) or is busy (the indicators coalescing a
// burst) — is O(accounts²) while hundreds of accounts register at once
// (708 copies of 1,000 accounts, 0.1 MB garbage an account, in a
// 1,000-account start-up). A change after a quiet gap (a NOTIFY for the
// lamp) is still delivered at once. The gap is 10 ms per 256 accounts
// (watchGapFor), so that copying costs the same whatever their number:
// at 1,000 accounts one copy every 10 ms was still the start-up's largest
// garbage (176 KB a copy, 20 MB a start-up).
const watchGap = 10 * time.Millisecond

// watchGapFor is the watchers' gap with n accounts.
func watchGapFor(n int) time.Duration {
	return watchGap * time.Duration(max(1, (n+255)/256))
}

// Watch returns a channel of snapshots: the current one first, then the
// latest after each change, at most one every 10 ms per 256 accounts
// (changes closer than that are folded into one snapshot at most that
// long after the first of them; a slow reader skips intermediate ones:
// the buffer holds one, replaced while unread). It is closed when ctx
// ends. The gap is chosen from the number of accounts when Watch is
// called.
//
// The snapshots are shared with the other watchers: read them, never
// change them (Clone one to change it). Each watcher has a goroutine
// (latest.Watch) that takes the state when it changed; the first of them
// copies it, the others get the same copy, and the loop itself never
// copies the whole state per update.
func (a *Agent) Watch(ctx context.Context) <-chan state.Snapshot {
	a.mu.Lock()
	gap := watchGapFor(len(a.pub.Accounts))
	a.mu.Unlock()
	return latest.Watch(ctx, &a.changed, a.watched, gap, a.clock)
}

// watched returns the watchers' shared copy of the published state,
// copying it if it changed since the last one (the Classes maps are
// shared: nobody changes one in place).
func (a *Agent) watched() state.Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.sharedOK {
		a.shared = a.pub
		a.shared.Accounts = slices.Clone(a.pub.Accounts)
		a.sharedOK = true
	}
	return a.shared
}

// Started is closed once every account's worker has started.
func (a *Agent) Started() <-chan struct{} { return a.started }

// publish tells the watchers that the state changed (the loop changed
// a.pub in place, under mu). The loop never mutates a Classes map in
// place (an update replaces it), so copies share them.
func (a *Agent) publish() {
	a.mu.Lock()
	a.sharedOK = false
	a.mu.Unlock()
	a.changed.Notify()
}

// put replaces account i of the state and counts the change, made at, in
// one step under mu (readers copy a.pub under mu, so none sees the account
// changed and the count not). The loop's writes go through put, bump and
// reload.
func (l *loop) put(i int, acc state.Account, at time.Time) {
	l.a.mu.Lock()
	l.snap.Accounts[i] = acc
	l.snap.Seq++
	l.snap.At = at
	l.a.mu.Unlock()
}

// bump counts a change of the state, made at.
func (l *loop) bump(at time.Time) {
	l.a.mu.Lock()
	l.snap.Seq++
	l.snap.At = at
	l.a.mu.Unlock()
}

// loop is the state owned by Run's goroutine.
type loop struct {
	a       *Agent
	ua      *sipua.UA
	snap    *state.Snapshot // = &a.pub: written only under a.mu, read freely (the loop is its only writer)
	specs   []spec
	cancels map[string]context.CancelFunc
	ctx     context.Context
	t0      time.Time // Run started
	allSub  bool      // "all subscribed" logged

	reports  map[string]serverReport  // last mailbox each server reported (manual.go)
	baseline map[string]*serverReport // the report a manual state holds against
}

// Run registers and subscribes every account and keeps the state until ctx
// ends; then it un-SUBSCRIBEs and un-REGISTERs (bounded by
// ShutdownTimeout) and returns ctx.Err().
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return errors.New("agent: already running")
	}
	a.running = true
	specs := a.specs // never changed in place: reload replaces the slice
	us := a.uaspec
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.running = false
		a.mu.Unlock()
	}()

	// Room for a start-up burst's updates (a few per account), at most
	// 1,024 (80 bytes each: 80 KB, most of the heap floor's worth with a
	// handful of accounts).
	updates := make(chan sipua.Update, min(1024, max(64, 4*len(specs))))
	loopDone := make(chan struct{})
	opts := us.opts
	opts.Logger = a.log
	opts.Clock = a.clock
	opts.Observer = &a.diag
	opts.OnUpdate = func(u sipua.Update) {
		select {
		case updates <- u:
		case <-loopDone:
		}
	}
	ua, err := sipua.NewUA(opts)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	l := &loop{a: a, ua: ua, snap: &a.pub, specs: specs, cancels: map[string]context.CancelFunc{}, ctx: context.Background(), t0: a.clock.Now()}
	for _, sp := range specs {
		if err := l.startAccount(sp); err != nil {
			a.log.Error("agent: account not started", "account", sp.sip.Name, "err", err)
		}
	}
	a.startedOnce.Do(func() { close(a.started) })
	a.log.Info("agent: running", "accounts", len(specs))

	for {
		select {
		case u := <-updates:
			// Fold every update already queued (a start-up burst of
			// hundreds of accounts) into one published snapshot.
			changed := l.apply(u)
			for n := 0; n < 512 && len(updates) > 0; n++ {
				changed = l.apply(<-updates) || changed
			}
			if changed {
				l.publish()
			}
		case f := <-a.cmds:
			// An update already queued happened before the command was
			// asked for (a NOTIFY is answered only once its update is
			// queued): apply it first, so a manual clear is never undone
			// by an older NOTIFY that select happened to pick later.
			changed := false
			for n := 0; n < cap(updates) && len(updates) > 0; n++ {
				changed = l.apply(<-updates) || changed
			}
			if changed {
				l.publish()
			}
			f(l)
		case <-ctx.Done():
			for _, c := range l.cancels {
				c()
			}
			waited := make(chan struct{})
			go func() { ua.Wait(); close(waited) }()
			deadline := a.clock.NewTimer(ShutdownTimeout)
		drain:
			for {
				select {
				case u := <-updates:
					if l.apply(u) {
						l.publish()
					}
				case <-waited:
					break drain
				case <-deadline.C():
					a.log.Warn("agent: shutdown timed out")
					break drain
				}
			}
			deadline.Stop()
			close(loopDone)
			ua.Close()
			a.log.Info("agent: stopped")
			return ctx.Err()
		}
	}
}

// startAccount starts an account's worker; its entry in l.cancels stops
// it (sipua's Stop: a context per account would cost 0.5 KB each).
func (l *loop) startAccount(sp spec) error {
	if err := l.ua.Start(l.ctx, sp.sip); err != nil {
		return err
	}
	name := sp.sip.Name
	l.cancels[name] = func() { l.ua.Stop(name) }
	return nil
}

// apply folds a worker's update into the state and logs the change; it
// reports whether anything changed (the caller publishes).
func (l *loop) apply(u sipua.Update) bool {
	i := -1
	for j := range l.snap.Accounts {
		if l.snap.Accounts[j].Name == u.Account {
			i = j
			break
		}
	}
	if i < 0 {
		return false // an account removed by Reload, still shutting down
	}
	before := l.snap.Accounts[i]
	next := before
	acc := &next
	if u.Health != acc.Health {
		acc.Since = u.At
	}
	acc.Health, acc.LastStatus, acc.LastReason = u.Health, u.LastStatus, u.LastReason
	if mb := u.Mailbox; mb != nil && !l.manualHold(i, mb) {
		acc.RestoredFrom = state.SourceNone // a persisted state is replaced
		acc.Waiting = mb.Waiting
		acc.Classes = maps.Clone(mb.Classes)
		acc.MessageAccount = mb.MessageAccount
		acc.Source = mb.Source
		acc.Updated = u.At
	}
	mailboxChanged := before.Waiting != acc.Waiting || !reflect.DeepEqual(before.Classes, acc.Classes) || before.Source != acc.Source
	if !mailboxChanged && before.Health == acc.Health && before.LastStatus == acc.LastStatus && before.LastReason == acc.LastReason && u.Mailbox == nil {
		return false
	}
	l.put(i, next, u.At)
	if mailboxChanged || before.Health != acc.Health {
		t := acc.Total()
		l.a.log.Info("account state",
			"account", acc.Name,
			"waiting", acc.Waiting.String(),
			"new", t.New, "old", t.Old, "urgent", t.UrgentNew,
			"source", acc.Source.String(),
			"health", acc.Health.String(),
			"status", acc.LastStatus, "reason", acc.LastReason)
	}
	return true
}

// publish hands the current state to Snapshot and the watchers.
func (l *loop) publish() {
	l.a.publish()
	if !l.allSub && l.allSubscribed() {
		l.allSub = true
		l.a.log.Info("agent: all accounts subscribed", "accounts", len(l.snap.Accounts), "after", l.a.clock.Now().Sub(l.t0).String())
	}
}

// allSubscribed: every account that subscribes has an active subscription.
func (l *loop) allSubscribed() bool {
	n := 0
	for i, sp := range l.specs {
		if !sp.sip.Subscribe {
			continue
		}
		n++
		if i >= len(l.snap.Accounts) || l.snap.Accounts[i].Health != state.HealthSubscribed {
			return false
		}
	}
	return n > 0
}

// do runs f on the loop goroutine (when running) and waits for it.
func (a *Agent) do(f func(*loop)) bool {
	a.mu.Lock()
	running := a.running
	a.mu.Unlock()
	if !running {
		return false
	}
	done := make(chan struct{})
	t := a.clock.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case a.cmds <- func(l *loop) { f(l); close(done) }:
		<-done
		return true
	case <-t.C():
		return false
	}
}

// reload replaces the account list: unchanged accounts keep their
// registrations; removed or changed ones stop (un-REGISTER) and changed or
// new ones start. Changes to the shared listeners need a restart.
func (a *Agent) reload(specs []spec, us uaSpec) error {
	a.mu.Lock()
	uaChanged := !reflect.DeepEqual(stripFuncs(a.uaspec.opts), stripFuncs(us.opts)) || a.uaspec.tlsKey != us.tlsKey
	a.specs = specs // shared with the loop: neither changes it in place
	a.uaspec = us
	running := a.running
	if !running {
		a.pub = initialSnapshot(specs, a.clock.Now())
		a.sharedOK = false
		a.mu.Unlock()
		return nil
	}
	a.mu.Unlock()
	var err error
	ok := a.do(func(l *loop) {
		old := map[string]spec{}
		for _, sp := range l.specs {
			old[sp.sip.Name] = sp
		}
		keep := map[string]bool{}
		for _, sp := range specs {
			if o, ok := old[sp.sip.Name]; ok && reflect.DeepEqual(o.sip, sp.sip) {
				keep[sp.sip.Name] = true
			}
		}
		for name, c := range l.cancels {
			if !keep[name] {
				c()
				delete(l.cancels, name)
			}
		}
		prev := map[string]state.Account{}
		for _, acc := range l.snap.Accounts {
			prev[acc.Name] = acc
		}
		now := l.a.clock.Now()
		var accts []state.Account
		for _, sp := range specs {
			if keep[sp.sip.Name] {
				acc := prev[sp.sip.Name]
				acc.Label = sp.label
				accts = append(accts, acc)
				// A reload is the moment to try again what the server
				// refused for good (rejected, noresource, 403, auth).
				go l.ua.Retry(sp.sip.Name)
				continue
			}
			accts = append(accts, newAccountState(sp, now))
		}
		l.a.mu.Lock()
		l.snap.Accounts = accts
		l.a.mu.Unlock()
		l.specs = specs
		// Stopped accounts' workers deregister from the UA when they
		// finish; start the new ones once the name is free.
		for _, sp := range specs {
			if keep[sp.sip.Name] {
				continue
			}
			var e error
			for range 60 {
				if e = l.startAccount(sp); e == nil {
					break
				}
				t := l.a.clock.NewTimer(100 * time.Millisecond)
				<-t.C()
			}
			if e != nil {
				err = errors.Join(err, fmt.Errorf("agent: account %s: %w", sp.sip.Name, e))
			}
		}
		l.bump(now)
		l.a.publish()
	})
	if !ok {
		return errors.New("agent: reload: loop not answering")
	}
	if uaChanged {
		err = errors.Join(err, errors.New("agent: listener, TLS, keepalive, liveness or restart_check settings changed: restart to apply them"))
	}
	return err
}

func stripFuncs(o sipua.Options) sipua.Options {
	o.Logger, o.Clock, o.OnUpdate, o.Parse, o.TLSConfig = nil, nil, nil, nil, nil
	return o
}
