package sipua

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// The event-driven worker. An account has no goroutine of its own: its
// inputs (transaction results, NOTIFYs, timer ticks, retries, liveness
// events, the shutdown) go into its mailbox, and an account whose mailbox
// was empty is put on the UA's run queue. A small pool of goroutines
// (runQueue) takes accounts off the queue and runs their inputs one after
// the other. An account is on the queue (or being run) at most once, so at
// most one goroutine runs it at a time: its state machine stays
// single-threaded, with no locks around its state. Nothing a worker does
// blocks for long — transactions, DNS and TCP/TLS writes run on their own
// goroutines and post their results back (runTx, startLocate, keepalive).
//
// Timers: each account keeps one deadline per timerKind and one clock
// timer (AfterFunc) armed at the earliest; when it goes off it posts a
// tick, which fires every slot that is due.

// notifyQueueMax: a NOTIFY finding this many inputs queued for its account
// is answered 500 with Retry-After (the notifier sends it again).
const notifyQueueMax = 16

// serveBatch is how many inputs of one account a pool goroutine runs
// before it lets the others have a turn.
const serveBatch = 64

// input is what other goroutines hand a worker through its mailbox: a
// transaction's result, a NOTIFY, a timer tick, a retry request.
type input interface{ applyTo(a *account) }

// inputFunc is an input that is just a function of the worker (start,
// shutdown, and the property test's steps).
type inputFunc func(a *account)

func (f inputFunc) applyTo(a *account) { f(a) }

// tick: the account's clock timer went off; fire what is due.
type tick struct{}

func (tick) applyTo(a *account) { a.fireDue() }

// runQueue is the pool: accounts with inputs waiting, and the goroutines
// that serve them.
type runQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	q      []*account
	closed bool
	wg     sync.WaitGroup
}

// newRunQueue starts n pool goroutines (n < 1: GOMAXPROCS, at least 2).
func newRunQueue(n int) *runQueue {
	if n < 1 {
		n = max(2, runtime.GOMAXPROCS(0))
	}
	r := &runQueue{}
	r.cond.L = &r.mu
	r.wg.Add(n)
	for range n {
		go r.loop()
	}
	return r
}

func (r *runQueue) push(a *account) {
	r.mu.Lock()
	r.q = append(r.q, a)
	r.mu.Unlock()
	r.cond.Signal()
}

func (r *runQueue) loop() {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		for len(r.q) == 0 && !r.closed {
			r.cond.Wait()
		}
		if len(r.q) == 0 {
			r.mu.Unlock()
			return
		}
		a := r.q[0]
		r.q[0] = nil
		r.q = r.q[1:]
		if len(r.q) == 0 {
			r.q = nil // let the backing array go once the start-up burst is served
		}
		r.mu.Unlock()
		if a.serve(serveBatch) {
			r.push(a) // more waiting: to the back of the queue
		}
	}
}

// close stops the pool once the queue is empty.
func (r *runQueue) close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cond.Broadcast()
	r.wg.Wait()
}

// mailbox is an account's queue of inputs; other goroutines put, the pool
// takes.
type mailbox struct {
	mu     sync.Mutex
	q      []input
	queued bool // on the run queue or being served
	closed bool // the worker finished: inputs are dropped

	txKilled bool                  // kill ran: transactions start cancelled
	txs      []*context.CancelFunc // the running transactions' (txContext)
}

// enqueue hands the worker an input; false when it has finished.
func (a *account) enqueue(in input) bool { return a.put(in, 0) }

// put enqueues unless limit > 0 inputs are waiting already (or the worker
// finished), and schedules the account if it was idle.
func (a *account) put(in input, limit int) bool {
	m := &a.box
	m.mu.Lock()
	if m.closed || (limit > 0 && len(m.q) >= limit) {
		m.mu.Unlock()
		return false
	}
	m.q = append(m.q, in)
	wake := !m.queued
	m.queued = true
	m.mu.Unlock()
	if wake && a.u.runq != nil {
		a.u.runq.push(a)
	}
	return true
}

// gone says the worker has finished: its mailbox takes nothing more.
func (a *account) gone() bool {
	m := &a.box
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// serve runs up to limit queued inputs (more when a batch is longer) and
// reports whether some are left; then the account stays scheduled and
// the caller queues it again. Only one goroutine serves an account at a
// time: the one that took it off the run queue.
func (a *account) serve(limit int) (more bool) {
	m := &a.box
	for n := 0; n < limit; {
		m.mu.Lock()
		batch := m.q
		m.q = nil
		if len(batch) == 0 {
			m.queued = false
			m.mu.Unlock()
			return false
		}
		m.mu.Unlock()
		for i, in := range batch {
			batch[i] = nil
			a.handle(in)
		}
		n += len(batch)
	}
	return true
}

// handle runs one input on the worker, then checks whether it finished
// and re-arms its clock timer.
func (a *account) handle(in input) {
	if a.over {
		refuse(in)
		return
	}
	if !a.killed.Load() {
		in.applyTo(a)
	} else {
		refuse(in)
	}
	if a.killed.Load() || a.finished() {
		a.finish()
		return
	}
	a.rearm()
}

// startWorker schedules the account's start, and its shutdown when ctx
// ends (or Stop); UA.Wait waits for it to finish.
func (a *account) startWorker(ctx context.Context) {
	a.counted = true
	a.u.wg.Add(1)
	a.enqueue(inputFunc(func(a *account) {
		a.rewatch()
		a.begin()
	}))
	if ctx.Done() != nil { // a context that never ends costs nothing (UA.Stop)
		a.ctxStop = context.AfterFunc(ctx, func() { a.enqueue(inputFunc(stopOnce)) })
	}
}

// refuse answers a NOTIFY its worker will not apply (it finished, or
// finishes now): its subscription is over, which 481 says; the handler
// waiting for the answer gives it at once.
func refuse(in input) {
	if n, ok := in.(*notifyIn); ok && n.claim() {
		n.outcome = NotifyRefused
		n.reply(refusalCode, refusalReason)
	}
}

// stopOnce begins the shutdown unless it began.
func stopOnce(a *account) {
	if !a.stopping {
		a.stop()
	}
}

// finish releases what the worker holds; runs once, on the worker.
func (a *account) finish() {
	a.over = true
	m := &a.box
	m.mu.Lock()
	m.closed = true
	dropped := m.q
	m.q = nil
	m.mu.Unlock()
	for _, in := range dropped {
		refuse(in)
	}
	a.kill() // cancels its transactions; NOTIFY handlers still waiting answer at once
	if a.ctxStop != nil {
		a.ctxStop()
	}
	if a.unwatch != nil {
		a.unwatch()
	}
	a.stopTimers()
	a.leaveGate()
	a.u.forget(a)
	if a.counted {
		a.u.wg.Done()
	}
}

// ---- timers ----------------------------------------------------------------

// timerSet is an account's timers: a deadline per timerKind (since the
// UA's epoch) and one clock timer armed at the earliest.
type timerSet struct {
	due    [numTimers]time.Duration
	armed  uint16 // bit k: due[k] is armed
	wakeAt time.Duration
	wake   func() bool // stops the clock timer armed for wakeAt; nil: none
}

// timerSlot is one of the worker's timers, a handle into its timerSet.
type timerSlot struct {
	a *account
	k timerKind
}

func (s timerSlot) arm(_ Clock, d time.Duration) { s.a.armTimer(s.k, d) }
func (s timerSlot) stop()                        { s.a.tm.armed &^= 1 << s.k }
func (s timerSlot) isArmed() bool                { return s.a.tm.armed&(1<<s.k) != 0 }

// sinceEpoch is the worker's clock as a duration since the UA started.
func (a *account) sinceEpoch() time.Duration { return a.u.opts.Clock.Now().Sub(a.u.epoch) }

func (a *account) armTimer(k timerKind, d time.Duration) {
	a.tm.due[k] = a.sinceEpoch() + max(d, 0)
	a.tm.armed |= 1 << k
}

// earliest is the earliest armed deadline.
func (t *timerSet) earliest() (time.Duration, timerKind, bool) {
	var at time.Duration
	var kind timerKind
	found := false
	for k := range numTimers {
		if t.armed&(1<<k) != 0 && (!found || t.due[k] < at) {
			at, kind, found = t.due[k], k, true
		}
	}
	return at, kind, found
}

// rearm makes sure the clock timer goes off no later than the earliest
// deadline (a stopped slot may leave it early: that tick fires nothing).
func (a *account) rearm() {
	t := &a.tm
	at, _, ok := t.earliest()
	if !ok {
		if t.wake != nil {
			t.wake()
			t.wake = nil
		}
		return
	}
	if t.wake != nil && t.wakeAt <= at {
		return
	}
	if t.wake != nil {
		t.wake()
	}
	if a.tickFn == nil {
		a.tickFn = func() { a.enqueue(tick{}) }
	}
	t.wakeAt = at
	t.wake = a.u.opts.Clock.AfterFunc(at-a.sinceEpoch(), a.tickFn)
}

// fireDue fires every timer that is due, earliest first.
func (a *account) fireDue() {
	now := a.sinceEpoch()
	if a.tm.wake != nil && a.tm.wakeAt <= now {
		a.tm.wake = nil // this is its tick
	}
	for range 4 * numTimers { // a handler may arm a timer due at once
		at, k, ok := a.tm.earliest()
		if !ok || at > now || a.killed.Load() {
			return
		}
		a.tm.armed &^= 1 << k
		a.fire(k)
	}
}

func (a *account) stopTimers() {
	a.tm.armed = 0
	if a.tm.wake != nil {
		a.tm.wake()
		a.tm.wake = nil
	}
}
