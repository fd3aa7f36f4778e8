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
	ActResetAttempts                  // success: the backoff starts again from the first step
	ActCountAttempt                   // a failure: the next backoff is longer
	ActSendStop                       // send Expires: 0 (un-REGISTER / un-SUBSCRIBE)
	ActDone                           // finished: report stop-done
	ActSignalRegistered               // tell the subscription the registration is (again) in place
	ActNewDialog                      // forget the dialog: next SUBSCRIBE starts a new one (new Call-ID)
	ActTimerN                         // arm Timer N (wait for the first NOTIFY)
	ActLapseTimer                     // arm the lapse timer at the granted expiry
	ActMailbox                        // apply the NOTIFY's body to the mailbox state
	ActStale                          // mark the mailbox state stale (lapsed; never silently "no messages")
	ActForget                         // final termination: mailbox unknown
	ActFinalWait                      // un-SUBSCRIBE answered: wait briefly for the final NOTIFY (answered 200, not 481)
)

var actionNames = [...]string{"send", "send-auth", "use-min-expires", "refresh-timer", "backoff-timer", "slow-timer", "long-timer", "reset-attempts", "count-attempt", "send-stop", "done", "signal-registered", "new-dialog", "timer-n", "lapse-timer", "mailbox", "stale", "forget", "final-wait"}

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

// regTable is the registration state machine. Pairs not listed leave the
// state unchanged with no action (e.g. a late response after shutdown).
var regTable = map[regKey]transition[RegState]{
	{RegIdle, EvStart}: {RegSending, acts(ActSend)},
	{RegIdle, EvStop}:  {RegStopped, acts(ActDone)},

	// First registration (or re-registration after a failure).
	{RegSending, EvOK}:              {RegRegistered, acts(ActResetAttempts, ActRefreshTimer, ActSignalRegistered)},
	{RegSending, EvChallenge}:       {RegSending, acts(ActSendAuth)},
	{RegSending, EvChallengeStale}:  {RegSending, acts(ActSendAuth)},
	{RegSending, EvChallengeRepeat}: {RegAuthFailed, acts(ActCountAttempt, ActSlowTimer)},
	{RegSending, EvTooBrief}:        {RegSending, acts(ActUseMinExpires, ActSend)},
	{RegSending, EvRefused}:         {RegRefused, acts(ActLongTimer)},
	{RegSending, EvTransient}:       {RegBackoff, acts(ActCountAttempt, ActBackoffTimer)},
	{RegSending, EvContactChanged}:  {RegSending, nil}, // the 2xx that taught us will be followed by a fresh REGISTER (see RegRegistered)
	{RegSending, EvStop}:            {RegStopped, acts(ActDone)},

	{RegRegistered, EvTimer}:          {RegRefreshing, acts(ActSend)},
	{RegRegistered, EvContactChanged}: {RegRefreshing, acts(ActSend)},
	{RegRegistered, EvStop}:           {RegUnregistering, acts(ActSendStop)},

	// Refresh while registered: failures leave health registered until the
	// binding really expires; the backoff path re-registers.
	{RegRefreshing, EvOK}:              {RegRegistered, acts(ActResetAttempts, ActRefreshTimer, ActSignalRegistered)},
	{RegRefreshing, EvChallenge}:       {RegRefreshing, acts(ActSendAuth)},
	{RegRefreshing, EvChallengeStale}:  {RegRefreshing, acts(ActSendAuth)},
	{RegRefreshing, EvChallengeRepeat}: {RegAuthFailed, acts(ActCountAttempt, ActSlowTimer)},
	{RegRefreshing, EvTooBrief}:        {RegRefreshing, acts(ActUseMinExpires, ActSend)},
	{RegRefreshing, EvRefused}:         {RegRefused, acts(ActLongTimer)},
	{RegRefreshing, EvTransient}:       {RegBackoff, acts(ActCountAttempt, ActBackoffTimer)},
	{RegRefreshing, EvContactChanged}:  {RegRefreshing, nil},
	{RegRefreshing, EvStop}:            {RegUnregistering, acts(ActSendStop)},

	{RegBackoff, EvTimer}:    {RegSending, acts(ActSend)},
	{RegBackoff, EvStop}:     {RegStopped, acts(ActDone)},
	{RegAuthFailed, EvTimer}: {RegSending, acts(ActSend)},
	{RegAuthFailed, EvStop}:  {RegStopped, acts(ActDone)},
	{RegRefused, EvTimer}:    {RegSending, acts(ActSend)},
	{RegRefused, EvStop}:     {RegStopped, acts(ActDone)},

	// Shutdown: one un-REGISTER (answering one challenge), bounded by the
	// worker's stop timeout which delivers EvStopDone.
	{RegUnregistering, EvOK}:              {RegStopped, acts(ActDone)},
	{RegUnregistering, EvChallenge}:       {RegUnregistering, acts(ActSendAuth)},
	{RegUnregistering, EvChallengeStale}:  {RegUnregistering, acts(ActSendAuth)},
	{RegUnregistering, EvChallengeRepeat}: {RegStopped, acts(ActDone)},
	{RegUnregistering, EvTooBrief}:        {RegStopped, acts(ActDone)},
	{RegUnregistering, EvRefused}:         {RegStopped, acts(ActDone)},
	{RegUnregistering, EvTransient}:       {RegStopped, acts(ActDone)},
	{RegUnregistering, EvStopDone}:        {RegStopped, acts(ActDone)},
}

// NextReg is the registration state machine: the next state and the actions
// for an event. Unlisted pairs keep the state and do nothing.
func NextReg(s RegState, e Event) (RegState, []Action) {
	if t, ok := regTable[regKey{s, e}]; ok {
		return t.next, t.actions
	}
	return s, nil
}
