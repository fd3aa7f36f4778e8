package sipua

import "fmt"

// RegState is a registration's state.
type RegState int

const (
	RegIdle          RegState = iota // not started, or register: false
	RegSending                       // REGISTER in flight, not registered yet
	RegRegistered                    // registered; refresh timer running
	RegRefreshing                    // refresh REGISTER in flight while registered
	RegBackoff                       // transient failure; retry timer running
	RegAuthFailed                    // credentials refused; slow retry timer running
	RegRefused                       // 403/404 or other final refusal; long retry timer running
	RegUnregistering                 // REGISTER Expires: 0 in flight on shutdown
	RegStopped                       // done
)

var regStateNames = [...]string{"idle", "sending", "registered", "refreshing", "backoff", "auth-failed", "refused", "unregistering", "stopped"}

func (s RegState) String() string {
	if s >= 0 && int(s) < len(regStateNames) {
		return regStateNames[s]
	}
	return fmt.Sprintf("regstate(%d)", int(s))
}

// Event is something that happened to a registration or a subscription:
// a classified response, a timer, a NOTIFY, a command. The worker turns
// responses into events (see classify); the tables decide what to do.
type Event int

const (
	EvStart           Event = iota // begin (registration wanted / registration done for a subscription)
	EvOK                           // 2xx
	EvChallenge                    // 401/407 to a request without a fresh answer: answer it
	EvChallengeStale               // 401/407 with stale=true: answer the new nonce, not a failure
	EvChallengeRepeat              // 401/407 again after answering a fresh challenge: wrong credentials
	EvTooBrief                     // 423 Interval Too Brief (Min-Expires)
	EvRefused                      // 403, 404 and other final refusals: stop fast
	EvTransient                    // 408, 5xx, timeout, transport error: back off
	EvNoDialog                     // 481 (subscription only)
	EvTimer                        // the state's timer fired (refresh or retry)
	EvContactChanged               // our Contact changed (received/rport, new TCP connection)
	EvStop                         // shutdown requested
	EvStopDone                     // un-REGISTER/un-SUBSCRIBE answered or timed out

	// Subscription-only events.
	EvNotify          // NOTIFY active/pending in the dialog (newer CSeq)
	EvTerminatedNow   // NOTIFY terminated;reason=deactivated|timeout|(none): re-subscribe at once
	EvTerminatedLater // NOTIFY terminated;reason=probation|giveup: re-subscribe after retry-after/backoff
	EvTerminatedFinal // NOTIFY terminated;reason=rejected|noresource|invariant: do not re-subscribe
	EvTimerN          // no NOTIFY within Timer N after the 2xx
	EvLapse           // the subscription's expiry passed without a successful refresh
	numEvents
)

var eventNames = [...]string{"start", "ok", "challenge", "challenge-stale", "challenge-repeat", "too-brief", "refused", "transient", "no-dialog", "timer", "contact-changed", "stop", "stop-done",
	"notify", "terminated-now", "terminated-later", "terminated-final", "timer-n", "lapse"}

func (e Event) String() string {
	if e >= 0 && int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("event(%d)", int(e))
}

// Action is what the worker must do after a transition. Durations are
// computed by the worker from the response (granted expiry, Retry-After,
// Min-Expires) and the attempt counter; the table only says which.
type Action int

const (
	ActSend             Action = iota // send a new request (fresh Via branch, CSeq+1; pre-emptive credentials if a challenge is known)
	ActSendAuth                       // answer the challenge in the response just received (new request, fresh branch, CSeq+1)
	ActUseMinExpires                  // take Min-Expires from the 423 as the requested expiry
	ActRefreshTimer                   // arm the refresh timer at a safe fraction of the granted expiry
	ActBackoffTimer                   // arm the retry timer: exponential backoff with jitter, honouring Retry-After
	ActSlowTimer                      // arm the slow retry timer (auth failed)
	ActLongTimer                      // arm the long retry timer (refused / rejected)
	ActSuccess                        // the leg is up: once it stays up a while, the backoff starts again from the first step
	ActCountAttempt                   // a failure: the next backoff is longer
	ActSendStop                       // send Expires: 0 (un-REGISTER / un-SUBSCRIBE)
	ActDone                           // finished: report stop-done
	ActSignalRegistered               // tell the subscription the registration is (again) in place
	ActNewDialog                      // forget the dialog: next SUBSCRIBE starts a new one (new Call-ID)
	ActDropDialog                     // un-SUBSCRIBE the dialog best effort (answer ignored), then forget it
	ActTimerN                         // arm Timer N (wait for the first NOTIFY)
	ActLapseTimer                     // arm the lapse timer at the granted expiry
	ActMailbox                        // apply the NOTIFY's body to the mailbox state
	ActNotifyRefresh                  // a NOTIFY's Subscription-State expires= (if any) is the new grant: re-arm refresh and lapse timers
	ActNotifyLapse                    // a NOTIFY's Subscription-State expires= (if any) is the new grant: re-arm the lapse timer
	ActStale                          // mark the mailbox state stale (lapsed; never silently "no messages")
	ActForget                         // final termination: mailbox unknown
	ActFinalWait                      // un-SUBSCRIBE answered: wait briefly for the final NOTIFY (answered 200, not 481)
	numActions
)

var actionNames = [...]string{"send", "send-auth", "use-min-expires", "refresh-timer", "backoff-timer", "slow-timer", "long-timer", "success", "count-attempt", "send-stop", "done", "signal-registered", "new-dialog", "drop-dialog", "timer-n", "lapse-timer", "mailbox", "notify-refresh", "notify-lapse", "stale", "forget", "final-wait"}

func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", int(a))
}

type regKey struct {
	s RegState
	e Event
}

type transition[S any] struct {
	next    S
	actions []Action
}

func acts(a ...Action) []Action { return a }

// rows adds the same transition for several events, refusing a pair that
// is already there (every pair is written exactly once).
func rows[S comparable, K comparable](t map[K]transition[S], key func(Event) K, next S, a []Action, events ...Event) {
	for _, e := range events {
		k := key(e)
		if _, dup := t[k]; dup {
			panic(fmt.Sprintf("sipua: table row %v written twice", k))
		}
		t[k] = transition[S]{next, a}
	}
}

// Event groups for the tables.
var (
	// answers to a transaction: the worker drops answers to older
	// transactions, so in a state without one in flight these do not come.
	answers = []Event{EvOK, EvChallenge, EvChallengeStale, EvChallengeRepeat, EvTooBrief, EvRefused, EvTransient, EvNoDialog}
	// subOnly events never reach a registration.
	subOnly = []Event{EvNotify, EvTerminatedNow, EvTerminatedLater, EvTerminatedFinal, EvTimerN, EvLapse}
)

// regTable is the registration state machine: every (state, event) pair
// has a row (TestTablesTotal enumerates them); a row with no actions that
// keeps the state is written as such, with the reason.
var regTable = func() map[regKey]transition[RegState] {
	t := map[regKey]transition[RegState]{}
	for s := RegIdle; s <= RegStopped; s++ {
		key := func(e Event) regKey { return regKey{s, e} }
		row := func(next RegState, a []Action, events ...Event) { rows(t, key, next, a, events...) }
		// Subscription events never reach the registration.
		row(s, nil, subOnly...)
		switch s {
		case RegIdle:
			row(RegSending, acts(ActSend), EvStart)
			row(RegStopped, acts(ActDone), EvStop)
			// nothing in flight, no timer armed: nothing else can happen
			row(s, nil, append(answers, EvTimer, EvContactChanged, EvStopDone)...)

		case RegSending, RegRefreshing:
			// First registration (or re-registration after a failure), or
			// a refresh while registered: failures during a refresh leave
			// health registered until the backoff path re-registers.
			row(RegRegistered, acts(ActSuccess, ActRefreshTimer, ActSignalRegistered), EvOK)
			row(s, acts(ActSendAuth), EvChallenge, EvChallengeStale)
			row(RegAuthFailed, acts(ActCountAttempt, ActSlowTimer), EvChallengeRepeat)
			// Min-Expires above what was asked (the worker turns any other
			// 423 into a failure): ask again with it.
			row(s, acts(ActUseMinExpires, ActSend), EvTooBrief)
			row(RegRefused, acts(ActCountAttempt, ActLongTimer), EvRefused)
			// 408, 5xx, timeout — and 481, which a registrar should not
			// send: back off and register again.
			row(RegBackoff, acts(ActCountAttempt, ActBackoffTimer), EvTransient, EvNoDialog)
			// The answer in flight will be followed by a REGISTER with the
			// new Contact (see RegRegistered).
			row(s, nil, EvContactChanged)
			if s == RegSending {
				row(RegStopped, acts(ActDone), EvStop) // not registered: nothing to undo
			} else {
				row(RegUnregistering, acts(ActSendStop), EvStop)
			}
			// no timer armed while a REGISTER is in flight; no second start
			row(s, nil, EvTimer, EvStart, EvStopDone)

		case RegRegistered:
			row(RegRefreshing, acts(ActSend), EvTimer, EvContactChanged)
			row(RegUnregistering, acts(ActSendStop), EvStop)
			row(s, nil, append(answers, EvStart, EvStopDone)...)

		case RegBackoff, RegAuthFailed, RegRefused:
			// Every way out of trouble is a timer: backoff, slow (auth
			// failed), long (refused). A reload fires it early.
			row(RegSending, acts(ActSend), EvTimer)
			row(RegStopped, acts(ActDone), EvStop)
			// the retry will carry the new Contact anyway
			row(s, nil, append(answers, EvStart, EvContactChanged, EvStopDone)...)

		case RegUnregistering:
			// Shutdown: one un-REGISTER (answering challenges), bounded by
			// the worker's stop timeout which delivers EvStopDone.
			row(RegStopped, acts(ActDone), EvOK, EvChallengeRepeat, EvTooBrief, EvRefused, EvTransient, EvNoDialog, EvStopDone)
			row(s, acts(ActSendAuth), EvChallenge, EvChallengeStale)
			row(s, nil, EvTimer, EvStart, EvContactChanged, EvStop)

		case RegStopped:
			// done: late answers and timers change nothing
			row(s, nil, append(answers, EvTimer, EvStart, EvContactChanged, EvStop, EvStopDone)...)
		}
	}
	return t
}()

// NextReg is the registration state machine: the next state and the actions
// for an event. The table is total; an unknown pair (a value out of range)
// keeps the state and does nothing.
func NextReg(s RegState, e Event) (RegState, []Action) {
	if t, ok := regTable[regKey{s, e}]; ok {
		return t.next, t.actions
	}
	return s, nil
}
