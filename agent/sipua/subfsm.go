package sipua

import "fmt"

// SubState is a message-summary subscription's state (RFC 6665).
type SubState int

const (
	SubIdle          SubState = iota // not started: waiting for the registration, or subscribe: false
	SubSending                       // SUBSCRIBE in flight (initial, or a retry)
	SubWaitNotify                    // 2xx received, waiting for the first NOTIFY (Timer N)
	SubActive                        // NOTIFY received; refresh timer running
	SubRefreshing                    // in-dialog refresh SUBSCRIBE in flight
	SubBackoff                       // transient failure or probation/giveup; retry timer running
	SubAuthFailed                    // credentials refused; slow retry timer running
	SubRejected                      // refused or terminated for good; long retry timer running
	SubUnsubscribing                 // SUBSCRIBE Expires: 0 in flight on shutdown
	SubStopped                       // done
)

var subStateNames = [...]string{"idle", "sending", "wait-notify", "active", "refreshing", "backoff", "auth-failed", "rejected", "unsubscribing", "stopped"}

func (s SubState) String() string {
	if s >= 0 && int(s) < len(subStateNames) {
		return subStateNames[s]
	}
	return fmt.Sprintf("substate(%d)", int(s))
}

type subKey struct {
	s SubState
	e Event
}

// Common rows: what every live state does with a terminating NOTIFY, a
// lapse and a Contact change.
func subCommon(t map[subKey]transition[SubState], s SubState) {
	set := func(e Event, n SubState, a ...Action) {
		if _, ok := t[subKey{s, e}]; !ok {
			t[subKey{s, e}] = transition[SubState]{n, a}
		}
	}
	set(EvTerminatedNow, SubSending, ActMailbox, ActNewDialog, ActSend)
	set(EvTerminatedLater, SubBackoff, ActMailbox, ActNewDialog, ActCountAttempt, ActBackoffTimer)
	set(EvTerminatedFinal, SubRejected, ActNewDialog, ActForget, ActLongTimer)
	set(EvContactChanged, SubSending, ActNewDialog, ActSend)
	set(EvLapse, s, ActStale)
}

var subTable = func() map[subKey]transition[SubState] {
	t := map[subKey]transition[SubState]{
		{SubIdle, EvStart}: {SubSending, acts(ActNewDialog, ActSend)},
		{SubIdle, EvStop}:  {SubStopped, acts(ActDone)},

		// Initial SUBSCRIBE (or a retry, in the dialog if one survives).
		{SubSending, EvOK}:              {SubWaitNotify, acts(ActResetAttempts, ActRefreshTimer, ActLapseTimer, ActTimerN)},
		{SubSending, EvNotify}:          {SubActive, acts(ActMailbox, ActResetAttempts, ActRefreshTimer, ActLapseTimer)}, // NOTIFY before the 2xx creates the dialog
		{SubSending, EvChallenge}:       {SubSending, acts(ActSendAuth)},
		{SubSending, EvChallengeStale}:  {SubSending, acts(ActSendAuth)},
		{SubSending, EvChallengeRepeat}: {SubAuthFailed, acts(ActCountAttempt, ActSlowTimer)},
		{SubSending, EvTooBrief}:        {SubSending, acts(ActUseMinExpires, ActSend)},
		{SubSending, EvNoDialog}:        {SubSending, acts(ActNewDialog, ActSend)},
		{SubSending, EvRefused}:         {SubRejected, acts(ActNewDialog, ActLongTimer)},
		{SubSending, EvTransient}:       {SubBackoff, acts(ActCountAttempt, ActBackoffTimer)},
		{SubSending, EvStop}:            {SubStopped, acts(ActDone)},
		{SubSending, EvLapse}:           {SubSending, acts(ActStale)},

		{SubWaitNotify, EvNotify}: {SubActive, acts(ActMailbox)},
		{SubWaitNotify, EvTimerN}: {SubBackoff, acts(ActNewDialog, ActCountAttempt, ActBackoffTimer)},
		{SubWaitNotify, EvTimer}:  {SubRefreshing, acts(ActSend)},
		{SubWaitNotify, EvLapse}:  {SubSending, acts(ActStale, ActNewDialog, ActSend)},
		{SubWaitNotify, EvStop}:   {SubUnsubscribing, acts(ActSendStop)},

		{SubActive, EvNotify}: {SubActive, acts(ActMailbox)},
		{SubActive, EvOK}:     {SubActive, acts(ActResetAttempts, ActRefreshTimer, ActLapseTimer)}, // the 2xx after an early NOTIFY
		{SubActive, EvTimer}:  {SubRefreshing, acts(ActSend)},
		{SubActive, EvLapse}:  {SubSending, acts(ActStale, ActNewDialog, ActSend)},
		{SubActive, EvStop}:   {SubUnsubscribing, acts(ActSendStop)},

		{SubRefreshing, EvOK}:              {SubActive, acts(ActResetAttempts, ActRefreshTimer, ActLapseTimer)},
		{SubRefreshing, EvNotify}:          {SubRefreshing, acts(ActMailbox)},
		{SubRefreshing, EvChallenge}:       {SubRefreshing, acts(ActSendAuth)},
		{SubRefreshing, EvChallengeStale}:  {SubRefreshing, acts(ActSendAuth)},
		{SubRefreshing, EvChallengeRepeat}: {SubAuthFailed, acts(ActCountAttempt, ActSlowTimer)},
		{SubRefreshing, EvTooBrief}:        {SubRefreshing, acts(ActUseMinExpires, ActSend)},
		{SubRefreshing, EvNoDialog}:        {SubSending, acts(ActNewDialog, ActSend)}, // 481: the dialog is gone, new Call-ID
		{SubRefreshing, EvRefused}:         {SubRejected, acts(ActNewDialog, ActLongTimer)},
		{SubRefreshing, EvTransient}:       {SubBackoff, acts(ActCountAttempt, ActBackoffTimer)},
		{SubRefreshing, EvStop}:            {SubUnsubscribing, acts(ActSendStop)},

		{SubBackoff, EvTimer}:  {SubSending, acts(ActSend)},
		{SubBackoff, EvNotify}: {SubBackoff, acts(ActMailbox)},
		{SubBackoff, EvStop}:   {SubStopped, acts(ActDone)},

		{SubAuthFailed, EvTimer}:  {SubSending, acts(ActSend)},
		{SubAuthFailed, EvNotify}: {SubAuthFailed, acts(ActMailbox)},
		{SubAuthFailed, EvStop}:   {SubStopped, acts(ActDone)},

		{SubRejected, EvTimer}: {SubSending, acts(ActNewDialog, ActSend)},
		{SubRejected, EvStop}:  {SubStopped, acts(ActDone)},
		// A final termination is not undone by a Contact change or a late
		// termination: only the long timer (or a reload) tries again.
		{SubRejected, EvContactChanged}:  {SubRejected, nil},
		{SubRejected, EvTerminatedNow}:   {SubRejected, nil},
		{SubRejected, EvTerminatedLater}: {SubRejected, nil},
		{SubRejected, EvTerminatedFinal}: {SubRejected, nil},

		// Shutdown: one un-SUBSCRIBE, bounded by the worker's stop timeout.
		{SubUnsubscribing, EvOK}:              {SubUnsubscribing, acts(ActFinalWait)},
		{SubUnsubscribing, EvTimer}:           {SubStopped, acts(ActDone)},
		{SubUnsubscribing, EvChallenge}:       {SubUnsubscribing, acts(ActSendAuth)},
		{SubUnsubscribing, EvChallengeStale}:  {SubUnsubscribing, acts(ActSendAuth)},
		{SubUnsubscribing, EvChallengeRepeat}: {SubStopped, acts(ActDone)},
		{SubUnsubscribing, EvTooBrief}:        {SubStopped, acts(ActDone)},
		{SubUnsubscribing, EvNoDialog}:        {SubStopped, acts(ActDone)},
		{SubUnsubscribing, EvRefused}:         {SubStopped, acts(ActDone)},
		{SubUnsubscribing, EvTransient}:       {SubStopped, acts(ActDone)},
		{SubUnsubscribing, EvStopDone}:        {SubStopped, acts(ActDone)},
		{SubUnsubscribing, EvContactChanged}:  {SubUnsubscribing, nil},
		{SubUnsubscribing, EvTerminatedNow}:   {SubStopped, acts(ActDone)}, // the final NOTIFY (Kamailio: reason=timeout)
		{SubUnsubscribing, EvTerminatedLater}: {SubStopped, acts(ActDone)},
		{SubUnsubscribing, EvTerminatedFinal}: {SubStopped, acts(ActDone)},
		{SubUnsubscribing, EvLapse}:           {SubUnsubscribing, nil},
	}
	for _, s := range []SubState{SubSending, SubWaitNotify, SubActive, SubRefreshing, SubBackoff, SubAuthFailed, SubRejected} {
		subCommon(t, s)
	}
	return t
}()

// NextSub is the subscription state machine. Unlisted pairs keep the state
// and do nothing (e.g. a NOTIFY after shutdown, a response to a transaction
// that was superseded).
func NextSub(s SubState, e Event) (SubState, []Action) {
	if t, ok := subTable[subKey{s, e}]; ok {
		return t.next, t.actions
	}
	return s, nil
}
