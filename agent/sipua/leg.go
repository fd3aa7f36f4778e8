package sipua

import (
	"fmt"
	"time"
)

// legKind names an account's two request families.
type legKind uint8

const (
	legReg legKind = iota // the registration (REGISTER)
	legSub                // the message-summary subscription (SUBSCRIBE)
)

func (k legKind) String() string {
	if k == legReg {
		return "register"
	}
	return "subscribe"
}

// leg is one request family of an account — the registration or the
// subscription, the same type used twice: its state in its table, the
// identity of its requests (Call-ID, local tag, CSeq), digest state, the
// expiry it asks for and the one granted, failures in a row (the backoff
// step), the generation of its newest transaction (answers to older ones
// are ignored) and its timer (refresh or retry).
type leg[S ~int] struct {
	state     S
	callID    string
	localTag  string
	auth      authState
	expiry    time.Duration // asked for
	granted   time.Duration // granted by the last 2xx (or NOTIFY)
	upAt      int64         // when the leg came up, UnixNano (0: down)
	gen       int
	timer     timerSlot
	cseq      uint32
	attempts  int32
	staleRuns uint8 // stale challenges in a row
	kind      legKind
}

// step moves the leg through its table and returns the actions to take.
func (l *leg[S]) step(next func(S, Event) (S, []Action), e Event, log acctLog) []Action {
	prev := l.state
	n, actions := next(prev, e)
	l.state = n
	if prev != n || len(actions) > 0 {
		log.Debug("sipua: "+l.kind.String(), "from", stateName(prev), "event", e, "to", stateName(n), "actions", actions)
	}
	return actions
}

func stateName[S ~int](s S) string {
	switch v := any(s).(type) {
	case RegState:
		return v.String()
	case SubState:
		return v.String()
	}
	return "?"
}

// next starts a new transaction: CSeq+1 and a new generation, so that an
// answer to an earlier one is recognised as late.
func (l *leg[S]) next() (cseq uint32, gen int) {
	l.cseq++
	l.gen++
	return l.cseq, l.gen
}

// tooBrief checks a 423 against what was asked: a Min-Expires not above
// the request, or above MaxMinExpires, is a failure (backoff), not a retry.
func (l *leg[S]) tooBrief(o Outcome) Outcome {
	if o.Event != EvTooBrief {
		return o
	}
	switch {
	case o.MinExpires <= l.expiry:
		o.Event = EvTransient
		o.Reason += fmt.Sprintf(" (Min-Expires %d s is not above the %d s asked)", int(o.MinExpires/time.Second), int(l.expiry/time.Second))
	case o.MinExpires > MaxMinExpires:
		o.Event = EvTransient
		o.Reason += fmt.Sprintf(" (Min-Expires %d s is above the %d s we accept)", int(o.MinExpires/time.Second), int(MaxMinExpires/time.Second))
	}
	return o
}

// outcome classifies the answer to the leg's newest transaction and learns
// a challenge from it; ok is false for an answer to an older transaction.
func (l *leg[S]) outcome(r txResult) (o Outcome, ok bool) {
	if r.gen != l.gen {
		return Outcome{}, false
	}
	return l.tooBrief(l.challenge(r, Classify(r.res, r.err, r.fresh))), true
}

// challenge learns a 401/407's challenge; a challenge we cannot answer is
// a refusal; more than three stale challenges in a row count as auth failed.
func (l *leg[S]) challenge(r txResult, o Outcome) Outcome {
	switch o.Event {
	case EvChallenge, EvChallengeStale:
		if err := l.auth.learn(r.res); err != nil {
			o.Event, o.Reason = EvRefused, err.Error()
			return o
		}
		if o.Event == EvChallengeStale {
			l.staleRuns++
			if l.staleRuns > 3 {
				o.Event = EvChallengeRepeat
			}
		} else {
			l.staleRuns = 0
		}
	case EvChallengeRepeat:
		if l.auth.newRealm(r.res) {
			// A challenge for a realm we did not answer (a proxy's 407,
			// then the registrar's 401): answer it too.
			if err := l.auth.learn(r.res); err == nil {
				o.Event = EvChallenge
				return o
			}
		}
		l.staleRuns = 0
		o.Reason += ": credentials refused"
	default:
		l.staleRuns = 0
	}
	return o
}

// common does the actions both legs share (expiry, timers, attempts) and
// reports whether act was one of them. rnd is the jitter source (nil:
// math/rand).
func (l *leg[S]) common(act Action, o Outcome, c Clock, opts *Options, rnd func() float64) bool {
	switch act {
	case ActUseMinExpires:
		l.expiry = o.MinExpires
	case ActRefreshTimer:
		l.timer.arm(c, RefreshDelay(l.granted))
	case ActBackoffTimer:
		l.timer.arm(c, opts.Backoff.Delay(int(l.attempts), o.RetryAfter, rnd))
	case ActSlowTimer:
		l.timer.arm(c, max(jitter(opts.SlowRetry, rnd), clampRetryAfter(o.RetryAfter)))
	case ActLongTimer:
		l.timer.arm(c, max(jitter(opts.LongRetry, rnd), clampRetryAfter(o.RetryAfter)))
	case ActSuccess:
		if l.upAt == 0 {
			l.upAt = c.Now().UnixNano()
		}
	case ActCountAttempt:
		// A failure after the leg stayed up a while starts the backoff
		// again; one soon after it came up (granted, then terminated)
		// continues it.
		if l.upAt != 0 && c.Now().UnixNano()-l.upAt >= int64(stableFor) {
			l.attempts = 0
		}
		l.upAt = 0
		l.attempts++
	default:
		return false
	}
	return true
}
