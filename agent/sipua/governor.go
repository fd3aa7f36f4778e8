package sipua

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// The governor: the one place that decides how often an account may send,
// whatever the server answers. Three parts:
//
//   - per account, a hard budget: at most AccountBudget REGISTER+SUBSCRIBE
//     in any BudgetWindow (60 s), start-up included. A request over budget
//     waits until the oldest one in the window ages out (window.reserve);
//   - per leg, the retry schedule (retryDelay): exponential backoff with
//     jitter for anything that repeats, 1 s, 2 s, 4 s … capped at 5 min; the
//     slow (auth failed) and long (refused, rejected) intervals; what a
//     server may impose (Retry-After, Min-Expires, huge grants) clamped;
//   - per server, in-flight transaction slots and a request rate
//     (serverGate), so that one dead server's 32 s timeouts do not hold up
//     accounts on other servers and many accounts together do not flood one.
//     Each account that joins a server brings its start-up share
//     (StartupShare tokens, once in its life), so N accounts starting
//     together are not held to the rate, while anything beyond a start-up
//     (retries, re-registrations after a server restart) is.
//
// The caps are documented in docs/sip.md ("Calm under failure").
const (
	// AccountBudget is the most requests one account sends in any
	// BudgetWindow (shutdown's un-REGISTER/un-SUBSCRIBE aside).
	AccountBudget = 10
	// BudgetWindow is the budget's window.
	BudgetWindow = 60 * time.Second

	// MaxRetryAfter caps a server's Retry-After (header or
	// Subscription-State parameter): longer is taken as this.
	MaxRetryAfter = 30 * time.Minute
	// MaxMinExpires caps a 423's Min-Expires: above it the 423 is a failure
	// (backoff), as is a Min-Expires not above what was asked.
	MaxMinExpires = 2 * time.Hour
	// MaxGrant caps a granted expiry for scheduling: a registration or
	// subscription granted longer is refreshed as if granted this.
	MaxGrant = 24 * time.Hour
	// stableFor is how long a leg must stay up before its failure count
	// starts again from the first backoff step: a subscription that the
	// server terminates right after granting it backs off.
	stableFor = 60 * time.Second

	// StartupShare is what one account adds to its server's token bucket
	// (and to its burst) when it first sends there: a start-up with digest
	// challenges takes about four requests (REGISTER, 401, REGISTER,
	// SUBSCRIBE, perhaps challenged once more). Half the account budget.
	StartupShare = AccountBudget / 2
)

// window books request send times so that no BudgetWindow holds more than
// AccountBudget of them. Zero value ready; 80 bytes per account.
type window struct {
	at   [AccountBudget]int64 // UnixNano of the last AccountBudget sends (0: none), a ring
	next int
}

// earliest is when a request asked for at now may go out.
func (w *window) earliest(now time.Time) time.Time {
	if old := w.at[w.next]; old != 0 {
		if t := time.Unix(0, old).Add(BudgetWindow); t.After(now) {
			return t
		}
	}
	return now
}

// reserve books the earliest allowed send time for a request asked for at
// now and returns it. Booked times never decrease, and any AccountBudget+1
// consecutive ones span at least BudgetWindow.
func (w *window) reserve(now time.Time) time.Time {
	t := w.earliest(now)
	w.at[w.next] = t.UnixNano()
	w.next = (w.next + 1) % len(w.at)
	return t
}

// jitter spreads d by ±25 % so that many accounts do not retry in
// lock-step; rnd returns a float in [0,1) (nil: math/rand).
func jitter(d time.Duration, rnd func() float64) time.Duration {
	if rnd == nil {
		rnd = rand.Float64
	}
	return time.Duration(float64(d) * (0.75 + 0.5*rnd()))
}

// clampRetryAfter caps a server's Retry-After at MaxRetryAfter.
func clampRetryAfter(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return min(d, MaxRetryAfter)
}

// clampGrant caps a granted expiry at MaxGrant for scheduling.
func clampGrant(d time.Duration) time.Duration { return min(max(d, 0), MaxGrant) }

// serverGate is one server's share of the governor: in-flight transaction
// slots and a token bucket of requests per second. Shared by the accounts
// that use the server (their goroutines), hence the lock.
//
// The bucket holds at most burst tokens: the configured ServerBurst, or
// StartupShare per member account when that is more. An account joining
// (its first request to this server) adds its StartupShare to the tokens,
// so a start-up of N accounts finds about StartupShare×N tokens and is not
// throttled; everything after — retries, refreshes, a mass re-registration
// after the server restarted — is held to rate once the start-up tokens
// are spent. A server answering errors therefore gets at most burst + rate
// × t requests in any t, and each account at most AccountBudget a minute.
type serverGate struct {
	slots   chan struct{}
	mu      sync.Mutex
	waiting []func() // transactions waiting for a slot, first come first served (submit)
	tokens  float64
	last    time.Time
	rate    float64 // tokens per second
	burst   float64 // current cap: max(base, StartupShare × members)
	base    float64 // ServerBurst
	members int     // accounts that joined and have not left
}

// serverGates are the per-server gates of a UA, by transport and destination.
type serverGates struct {
	mu sync.Mutex
	m  map[string]*serverGate
}

func (g *serverGates) get(key string, slots int, rate float64, burst int) *serverGate {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[string]*serverGate{}
	}
	s := g.m[key]
	if s == nil {
		s = &serverGate{slots: make(chan struct{}, slots), rate: rate, burst: float64(burst), base: float64(burst), tokens: float64(burst)}
		g.m[key] = s
	}
	return s
}

// serverGate is the gate of one server (by transport and host:port).
func (u *UA) serverGate(network, dest string) *serverGate {
	return u.servers.get(network+":"+dest, u.opts.MaxInFlight, u.opts.ServerRate, u.opts.ServerBurst)
}

// join adds one account to the server: its start-up share of tokens (the
// first time an account joins any server; credit false on a later move)
// and of the burst.
func (s *serverGate) join(credit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members++
	s.burst = max(s.base, float64(StartupShare*s.members))
	if credit {
		s.tokens = min(s.burst, s.tokens+StartupShare)
	}
}

// leave removes an account (stopped, or moved to another server).
func (s *serverGate) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members = max(s.members-1, 0)
	s.burst = max(s.base, float64(StartupShare*s.members))
	s.tokens = min(s.tokens, s.burst)
}

// take books one request at now and returns how long to wait before
// sending it (zero when a token is available).
func (s *serverGate) take(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.IsZero() && now.After(s.last) {
		s.tokens = min(s.burst, s.tokens+now.Sub(s.last).Seconds()*s.rate)
	}
	if now.After(s.last) {
		s.last = now
	}
	s.tokens--
	if s.tokens >= 0 || s.rate <= 0 {
		return 0
	}
	return time.Duration(-s.tokens / s.rate * float64(time.Second))
}

// submit runs job on a goroutine of its own once a slot is free, holding
// the slot; it never blocks. Queued jobs wait as closures, not as
// goroutines: a start-up of 1,000 accounts has at most MaxInFlight
// transaction goroutines per server, not one per request. The goroutine
// that finishes a job runs the next queued one with the same slot.
// waited (if not nil) is called when the job has to queue, before the
// job can start (it must not block).
func (s *serverGate) submit(job func(), waited func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.slots <- struct{}{}:
		go s.serve(job)
		return
	default:
	}
	s.waiting = append(s.waiting, job)
	if waited != nil {
		waited()
	}
}

// start runs job on a goroutine of its own if a slot is free now, holding
// it (as submit does), and reports whether it did; it never queues.
func (s *serverGate) start(job func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.slots <- struct{}{}:
		go s.serve(job)
		return true
	default:
		return false
	}
}

// serve runs jobs holding one slot until none is queued, then frees it.
func (s *serverGate) serve(job func()) {
	for job != nil {
		job()
		job = s.next()
	}
}

// next hands the caller's slot to the first queued job, or frees it.
func (s *serverGate) next() func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiting) == 0 {
		s.waiting = nil // let the start-up's backing array go
		<-s.slots
		return nil
	}
	job := s.waiting[0]
	s.waiting[0] = nil
	s.waiting = s.waiting[1:]
	return job
}

// release gives a slot taken by acquire back, or hands it to a job that
// queued meanwhile.
func (s *serverGate) release() {
	if job := s.next(); job != nil {
		go s.serve(job)
	}
}

// rateWait books one request at the rate and waits for it (the caller
// holds a slot); waited is called when it has to wait.
func (s *serverGate) rateWait(ctx context.Context, c Clock, waited func()) error {
	d := s.take(c.Now())
	if d > 0 && waited != nil {
		waited()
	}
	return sleep(ctx, c, d)
}

// acquire waits for a slot and for the rate; release gives the slot back.
// waited (if not nil) is called when either made it wait (a rate-limit hit).
func (s *serverGate) acquire(ctx context.Context, c Clock, waited func()) (release func(), err error) {
	select {
	case s.slots <- struct{}{}:
	default:
		if waited != nil {
			waited()
			waited = nil
		}
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := s.rateWait(ctx, c, waited); err != nil {
		s.release()
		return nil, err
	}
	return s.release, nil
}

// sleep waits d on c, or until ctx ends.
func sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
