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

// subTable is the subscription state machine: every (state, event) pair
// has a row (TestTablesTotal enumerates them). The rules that keep it calm:
// anything that repeats — a failure, a termination, a lapse, Timer N — is
// counted and backs off (1 s, 2 s, … 5 min); refused and rejected wait the
// long interval; only a challenge, a 423 with a higher Min-Expires, a 481
// to a refresh (the server forgot the dialog) and a Contact change send at
// once, and the governor's budget bounds even those.
var subTable = func() map[subKey]transition[SubState] {
	t := map[subKey]transition[SubState]{}
	retryLater := acts(ActCountAttempt, ActBackoffTimer)
	for s := SubIdle; s <= SubStopped; s++ {
		key := func(e Event) subKey { return subKey{s, e} }
		row := func(next SubState, a []Action, events ...Event) { rows(t, key, next, a, events...) }
		// What a live state does with a termination: re-subscribe in a
		// new dialog after a backoff (a repeated termination is a failure,
		// not a fresh start), or, for rejected/noresource/invariant, after
		// the long interval with the mailbox unknown.
		terminations := func() {
			row(SubBackoff, append(acts(ActMailbox, ActNewDialog), retryLater...), EvTerminatedNow, EvTerminatedLater)
			row(SubRejected, acts(ActNewDialog, ActForget, ActCountAttempt, ActLongTimer), EvTerminatedFinal)
		}
		switch s {
		case SubIdle:
			row(SubSending, acts(ActNewDialog, ActSend), EvStart)
			row(SubStopped, acts(ActDone), EvStop)
			// no dialog, nothing in flight, no timer: waiting for the registration
			row(s, nil, append(answers, EvTimer, EvContactChanged, EvStopDone, EvNotify, EvTerminatedNow, EvTerminatedLater, EvTerminatedFinal, EvTimerN, EvLapse)...)

		case SubSending:
			// Initial SUBSCRIBE (or a retry, in the dialog if one survives).
			row(SubWaitNotify, acts(ActSuccess, ActRefreshTimer, ActLapseTimer, ActTimerN), EvOK)
			row(SubActive, acts(ActMailbox, ActSuccess, ActRefreshTimer, ActLapseTimer), EvNotify) // NOTIFY before the 2xx creates the dialog
			row(s, acts(ActSendAuth), EvChallenge, EvChallengeStale)
			row(SubAuthFailed, acts(ActCountAttempt, ActSlowTimer), EvChallengeRepeat)
			row(s, acts(ActUseMinExpires, ActSend), EvTooBrief)
			row(SubBackoff, append(acts(ActNewDialog), retryLater...), EvNoDialog) // 481 to an initial SUBSCRIBE: new dialog, later
			row(SubRejected, acts(ActNewDialog, ActCountAttempt, ActLongTimer), EvRefused)
			row(SubBackoff, retryLater, EvTransient)
			row(SubStopped, acts(ActDone), EvStop)
			row(s, acts(ActStale), EvLapse)
			row(s, acts(ActNewDialog, ActSend), EvContactChanged)
			terminations()
			// no timer armed while the SUBSCRIBE is in flight
			row(s, nil, EvTimer, EvTimerN, EvStart, EvStopDone)

		case SubWaitNotify, SubActive:
			if s == SubWaitNotify {
				row(SubActive, acts(ActMailbox, ActNotifyRefresh), EvNotify)
				row(SubBackoff, append(acts(ActNewDialog), retryLater...), EvTimerN)
				// a 2xx here is a retransmission: the answer was taken
				row(s, nil, EvOK)
			} else {
				row(s, acts(ActMailbox, ActNotifyRefresh), EvNotify)
				row(s, acts(ActSuccess, ActRefreshTimer, ActLapseTimer), EvOK) // the 2xx after an early NOTIFY
				row(s, nil, EvTimerN)
			}
			// The answer to an initial SUBSCRIBE that a NOTIFY overtook
			// can still be a failure: as for a refresh.
			row(SubRefreshing, acts(ActSendAuth), EvChallenge, EvChallengeStale)
			row(SubAuthFailed, acts(ActCountAttempt, ActSlowTimer), EvChallengeRepeat)
			row(SubRefreshing, acts(ActUseMinExpires, ActSend), EvTooBrief)
			row(SubBackoff, append(acts(ActNewDialog), retryLater...), EvNoDialog)
			row(SubRejected, acts(ActNewDialog, ActForget, ActCountAttempt, ActLongTimer), EvRefused)
			row(SubBackoff, append(acts(ActDropDialog), retryLater...), EvTransient)
			row(SubRefreshing, acts(ActSend), EvTimer)
			row(SubBackoff, append(acts(ActStale, ActNewDialog), retryLater...), EvLapse)
			row(SubUnsubscribing, acts(ActSendStop), EvStop)
			row(SubSending, acts(ActNewDialog, ActSend), EvContactChanged)
			terminations()
			row(s, nil, EvStart, EvStopDone)

		case SubRefreshing:
			row(SubActive, acts(ActSuccess, ActRefreshTimer, ActLapseTimer), EvOK)
			row(s, acts(ActMailbox, ActNotifyLapse), EvNotify)
			row(s, acts(ActSendAuth), EvChallenge, EvChallengeStale)
			row(SubAuthFailed, acts(ActCountAttempt, ActSlowTimer), EvChallengeRepeat)
			row(s, acts(ActUseMinExpires, ActSend), EvTooBrief)
			// 481: the server forgot the dialog (restart): a new one at once.
			row(SubSending, acts(ActNewDialog, ActCountAttempt, ActSend), EvNoDialog)
			row(SubRejected, acts(ActNewDialog, ActForget, ActCountAttempt, ActLongTimer), EvRefused)
			// Timeout, 408, 5xx: the remote target may be dead or moved;
			// the retry goes to the configured server in a new dialog, the
			// old one is un-SUBSCRIBEd best effort.
			row(SubBackoff, append(acts(ActDropDialog), retryLater...), EvTransient)
			row(SubUnsubscribing, acts(ActSendStop), EvStop)
			row(s, acts(ActStale), EvLapse) // the refresh's answer decides
			row(SubSending, acts(ActNewDialog, ActSend), EvContactChanged)
			terminations()
			// the refresh timer fired to get here; Timer N is stopped
			row(s, nil, EvTimer, EvTimerN, EvStart, EvStopDone)

		case SubBackoff, SubAuthFailed:
			next := acts(ActCountAttempt, ActBackoffTimer)
			if s == SubAuthFailed {
				next = acts(ActSlowTimer)
			}
			row(SubSending, acts(ActSend), EvTimer)
			// A NOTIFY in the dialog the retry was for: the subscription
			// exists after all.
			row(SubActive, acts(ActMailbox, ActSuccess, ActRefreshTimer, ActLapseTimer), EvNotify)
			row(s, append(acts(ActMailbox, ActNewDialog), next...), EvTerminatedNow, EvTerminatedLater)
			row(SubRejected, acts(ActNewDialog, ActForget, ActCountAttempt, ActLongTimer), EvTerminatedFinal)
			row(s, acts(ActStale), EvLapse)
			row(SubStopped, acts(ActDone), EvStop)
			// the retry will carry the new Contact; late answers were
			// dropped by generation
			row(s, nil, append(answers, EvContactChanged, EvTimerN, EvStart, EvStopDone)...)

		case SubRejected:
			// A final refusal is not undone by a Contact change, a late
			// NOTIFY or a lapse (rejected already says the state is
			// unknown): only the long timer (or a reload) tries again.
			row(SubSending, acts(ActNewDialog, ActSend), EvTimer)
			row(SubStopped, acts(ActDone), EvStop)
			row(s, nil, append(answers, EvContactChanged, EvNotify, EvTerminatedNow, EvTerminatedLater, EvTerminatedFinal, EvTimerN, EvLapse, EvStart, EvStopDone)...)

		case SubUnsubscribing:
			// Shutdown: one un-SUBSCRIBE, bounded by the worker's stop timeout.
			row(s, acts(ActFinalWait), EvOK)
			row(SubStopped, acts(ActDone), EvTimer, EvChallengeRepeat, EvTooBrief, EvNoDialog, EvRefused, EvTransient, EvStopDone)
			row(s, acts(ActSendAuth), EvChallenge, EvChallengeStale)
			// the final NOTIFY (Kamailio: reason=timeout)
			row(SubStopped, acts(ActDone), EvTerminatedNow, EvTerminatedLater, EvTerminatedFinal)
			row(s, nil, EvContactChanged, EvNotify, EvLapse, EvTimerN, EvStart, EvStop)

		case SubStopped:
			row(s, nil, append(answers, EvTimer, EvContactChanged, EvStop, EvStopDone, EvNotify, EvTerminatedNow, EvTerminatedLater, EvTerminatedFinal, EvTimerN, EvLapse, EvStart)...)
		}
	}
	return t
}()

// NextSub is the subscription state machine. The table is total; an
// unknown pair (a value out of range) keeps the state and does nothing.
func NextSub(s SubState, e Event) (SubState, []Action) {
	if t, ok := subTable[subKey{s, e}]; ok {
		return t.next, t.actions
	}
	return s, nil
}
