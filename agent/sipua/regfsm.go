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

type transition[S any] struct {
	next    S
	actions []Action
	ok      bool // written (the tables are total: TestTablesTotal)
}

// fsmRow is one line of a state machine's table as written: in each state
// of from (a bit per state), each event of on (a bit per event) goes to
// the state to (stay: the state itself) with the actions. The tables are
// package-level literals — data, not code that builds them (that code was
// 13 KB of the armv6 binary).
type fsmRow struct {
	from    uint16
	on      uint32
	to      int8
	actions []Action
}

// stay as a row's target: the state the row is for.
const stay = -1

// Event groups for the rows.
const (
	// answers to a transaction: the worker drops answers to older
	// transactions, so in a state without one in flight these do not come.
	answers = 1<<EvOK | 1<<EvChallenge | 1<<EvChallengeStale | 1<<EvChallengeRepeat | 1<<EvTooBrief | 1<<EvRefused | 1<<EvTransient | 1<<EvNoDialog
	// subOnly events never reach a registration.
	subOnly = 1<<EvNotify | 1<<EvTerminatedNow | 1<<EvTerminatedLater | 1<<EvTerminatedFinal | 1<<EvTimerN | 1<<EvLapse
)

// table is a state machine's transitions by state and event, from its
// rows, refusing a pair that is written twice (every pair is written
// exactly once; TestTablesTotal checks that none is missing).
func table[S ~int](rows []fsmRow, states int) [][numEvents]transition[S] {
	t := make([][numEvents]transition[S], states)
	for _, r := range rows {
		for s := range states {
			if r.from&(1<<s) == 0 {
				continue
			}
			next := S(r.to)
			if r.to == stay {
				next = S(s)
			}
			for e := range numEvents {
				if r.on&(1<<e) == 0 {
					continue
				}
				if t[s][e].ok {
					panic(fmt.Sprintf("sipua: table row (%d, %v) written twice", s, e))
				}
				t[s][e] = transition[S]{next, r.actions, true}
			}
		}
	}
	return t
}

// allRegStates is every registration state, for rows that hold in each.
const allRegStates = 1<<(RegStopped+1) - 1

// regRows is the registration state machine: every (state, event) pair
// has a row (TestTablesTotal enumerates them); a row with no actions that
// keeps the state is written as such, with the reason.
var regRows = []fsmRow{
	// Subscription events never reach the registration.
	{allRegStates, subOnly, stay, nil},

	{1 << RegIdle, 1 << EvStart, int8(RegSending), []Action{ActSend}},
	{1 << RegIdle, 1 << EvStop, int8(RegStopped), []Action{ActDone}},
	// nothing in flight, no timer armed: nothing else can happen
	{1 << RegIdle, answers | 1<<EvTimer | 1<<EvContactChanged | 1<<EvStopDone, stay, nil},

	// First registration (or re-registration after a failure), or a
	// refresh while registered: failures during a refresh leave health
	// registered until the backoff path re-registers.
	{1<<RegSending | 1<<RegRefreshing, 1 << EvOK, int8(RegRegistered), []Action{ActSuccess, ActRefreshTimer, ActSignalRegistered}},
	{1<<RegSending | 1<<RegRefreshing, 1<<EvChallenge | 1<<EvChallengeStale, stay, []Action{ActSendAuth}},
	{1<<RegSending | 1<<RegRefreshing, 1 << EvChallengeRepeat, int8(RegAuthFailed), []Action{ActCountAttempt, ActSlowTimer}},
	// Min-Expires above what was asked (the worker turns any other 423
	// into a failure): ask again with it.
	{1<<RegSending | 1<<RegRefreshing, 1 << EvTooBrief, stay, []Action{ActUseMinExpires, ActSend}},
	{1<<RegSending | 1<<RegRefreshing, 1 << EvRefused, int8(RegRefused), []Action{ActCountAttempt, ActLongTimer}},
	// 408, 5xx, timeout — and 481, which a registrar should not send: back
	// off and register again.
	{1<<RegSending | 1<<RegRefreshing, 1<<EvTransient | 1<<EvNoDialog, int8(RegBackoff), []Action{ActCountAttempt, ActBackoffTimer}},
	// The answer in flight will be followed by a REGISTER with the new
	// Contact (see RegRegistered).
	{1<<RegSending | 1<<RegRefreshing, 1 << EvContactChanged, stay, nil},
	{1 << RegSending, 1 << EvStop, int8(RegStopped), []Action{ActDone}}, // not registered: nothing to undo
	{1 << RegRefreshing, 1 << EvStop, int8(RegUnregistering), []Action{ActSendStop}},
	// no timer armed while a REGISTER is in flight; no second start
	{1<<RegSending | 1<<RegRefreshing, 1<<EvTimer | 1<<EvStart | 1<<EvStopDone, stay, nil},

	{1 << RegRegistered, 1<<EvTimer | 1<<EvContactChanged, int8(RegRefreshing), []Action{ActSend}},
	{1 << RegRegistered, 1 << EvStop, int8(RegUnregistering), []Action{ActSendStop}},
	{1 << RegRegistered, answers | 1<<EvStart | 1<<EvStopDone, stay, nil},

	// Every way out of trouble is a timer: backoff, slow (auth failed),
	// long (refused). A reload fires it early.
	{1<<RegBackoff | 1<<RegAuthFailed | 1<<RegRefused, 1 << EvTimer, int8(RegSending), []Action{ActSend}},
	{1<<RegBackoff | 1<<RegAuthFailed | 1<<RegRefused, 1 << EvStop, int8(RegStopped), []Action{ActDone}},
	// the retry will carry the new Contact anyway
	{1<<RegBackoff | 1<<RegAuthFailed | 1<<RegRefused, answers | 1<<EvStart | 1<<EvContactChanged | 1<<EvStopDone, stay, nil},

	// Shutdown: one un-REGISTER (answering challenges), bounded by the
	// worker's stop timeout which delivers EvStopDone.
	{1 << RegUnregistering, 1<<EvOK | 1<<EvChallengeRepeat | 1<<EvTooBrief | 1<<EvRefused | 1<<EvTransient | 1<<EvNoDialog | 1<<EvStopDone, int8(RegStopped), []Action{ActDone}},
	{1 << RegUnregistering, 1<<EvChallenge | 1<<EvChallengeStale, stay, []Action{ActSendAuth}},
	{1 << RegUnregistering, 1<<EvTimer | 1<<EvStart | 1<<EvContactChanged | 1<<EvStop, stay, nil},

	// done: late answers and timers change nothing
	{1 << RegStopped, answers | 1<<EvTimer | 1<<EvStart | 1<<EvContactChanged | 1<<EvStop | 1<<EvStopDone, stay, nil},
}

var regTable = table[RegState](regRows, int(RegStopped)+1)

// NextReg is the registration state machine: the next state and the actions
// for an event. The table is total; an unknown pair (a value out of range)
// keeps the state and does nothing.
func NextReg(s RegState, e Event) (RegState, []Action) {
	if s >= 0 && int(s) < len(regTable) && e >= 0 && e < numEvents && regTable[s][e].ok {
		return regTable[s][e].next, regTable[s][e].actions
	}
	return s, nil
}
