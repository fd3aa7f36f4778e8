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

// subRows is the subscription state machine: every (state, event) pair
// has a row (TestTablesTotal enumerates them). The rules that keep it calm:
// anything that repeats — a failure, a termination, a lapse, Timer N — is
// counted and backs off (1 s, 2 s, … 5 min); refused and rejected wait the
// long interval; only a challenge, a 423 with a higher Min-Expires, a 481
// to a refresh (the server forgot the dialog) and a Contact change send at
// once, and the governor's budget bounds even those.
var subRows = []fsmRow{
	{1 << SubIdle, 1 << EvStart, int8(SubSending), []Action{ActNewDialog, ActSend}},
	{1 << SubIdle, 1 << EvStop, int8(SubStopped), []Action{ActDone}},
	// no dialog, nothing in flight, no timer: waiting for the registration
	{1 << SubIdle, answers | subOnly | 1<<EvTimer | 1<<EvContactChanged | 1<<EvStopDone, stay, nil},

	// Initial SUBSCRIBE (or a retry, in the dialog if one survives).
	{1 << SubSending, 1 << EvOK, int8(SubWaitNotify), []Action{ActSuccess, ActRefreshTimer, ActLapseTimer, ActTimerN}},
	{1 << SubSending, 1 << EvNotify, int8(SubActive), []Action{ActMailbox, ActSuccess, ActRefreshTimer, ActLapseTimer}}, // NOTIFY before the 2xx creates the dialog
	{1 << SubSending, 1<<EvChallenge | 1<<EvChallengeStale, stay, []Action{ActSendAuth}},
	{1 << SubSending, 1 << EvChallengeRepeat, int8(SubAuthFailed), []Action{ActCountAttempt, ActSlowTimer}},
	{1 << SubSending, 1 << EvTooBrief, stay, []Action{ActUseMinExpires, ActSend}},
	{1 << SubSending, 1 << EvNoDialog, int8(SubBackoff), []Action{ActNewDialog, ActCountAttempt, ActBackoffTimer}}, // 481 to an initial SUBSCRIBE: new dialog, later
	{1 << SubSending, 1 << EvRefused, int8(SubRejected), []Action{ActNewDialog, ActCountAttempt, ActLongTimer}},
	{1 << SubSending, 1 << EvTransient, int8(SubBackoff), []Action{ActCountAttempt, ActBackoffTimer}},
	{1 << SubSending, 1 << EvStop, int8(SubStopped), []Action{ActDone}},
	{1 << SubSending, 1 << EvLapse, stay, []Action{ActStale}},
	{1 << SubSending, 1 << EvContactChanged, stay, []Action{ActNewDialog, ActSend}},
	// no timer armed while the SUBSCRIBE is in flight
	{1 << SubSending, 1<<EvTimer | 1<<EvTimerN | 1<<EvStart | 1<<EvStopDone, stay, nil},

	// What a live state does with a termination: re-subscribe in a new
	// dialog after a backoff (a repeated termination is a failure, not a
	// fresh start), or, for rejected/noresource/invariant, after the long
	// interval with the mailbox unknown.
	{1<<SubSending | 1<<SubWaitNotify | 1<<SubActive | 1<<SubRefreshing, 1<<EvTerminatedNow | 1<<EvTerminatedLater, int8(SubBackoff), []Action{ActMailbox, ActNewDialog, ActCountAttempt, ActBackoffTimer}},
	{1<<SubSending | 1<<SubWaitNotify | 1<<SubActive | 1<<SubRefreshing, 1 << EvTerminatedFinal, int8(SubRejected), []Action{ActNewDialog, ActForget, ActCountAttempt, ActLongTimer}},

	{1 << SubWaitNotify, 1 << EvNotify, int8(SubActive), []Action{ActMailbox, ActNotifyRefresh}},
	{1 << SubWaitNotify, 1 << EvTimerN, int8(SubBackoff), []Action{ActNewDialog, ActCountAttempt, ActBackoffTimer}},
	// a 2xx here is a retransmission: the answer was taken
	{1 << SubWaitNotify, 1 << EvOK, stay, nil},
	{1 << SubActive, 1 << EvNotify, stay, []Action{ActMailbox, ActNotifyRefresh}},
	{1 << SubActive, 1 << EvOK, stay, []Action{ActSuccess, ActRefreshTimer, ActLapseTimer}}, // the 2xx after an early NOTIFY
	{1 << SubActive, 1 << EvTimerN, stay, nil},
	// The answer to an initial SUBSCRIBE that a NOTIFY overtook can still
	// be a failure: as for a refresh.
	{1<<SubWaitNotify | 1<<SubActive, 1<<EvChallenge | 1<<EvChallengeStale, int8(SubRefreshing), []Action{ActSendAuth}},
	{1<<SubWaitNotify | 1<<SubActive, 1 << EvChallengeRepeat, int8(SubAuthFailed), []Action{ActCountAttempt, ActSlowTimer}},
	{1<<SubWaitNotify | 1<<SubActive, 1 << EvTooBrief, int8(SubRefreshing), []Action{ActUseMinExpires, ActSend}},
	{1<<SubWaitNotify | 1<<SubActive, 1 << EvNoDialog, int8(SubBackoff), []Action{ActNewDialog, ActCountAttempt, ActBackoffTimer}},
	{1<<SubWaitNotify | 1<<SubActive, 1 << EvRefused, int8(SubRejected), []Action{ActNewDialog, ActForget, ActCountAttempt, ActLongTimer}},
	{1<<SubWaitNotify | 1<<SubActive, 1 << EvTransient, int8(SubBackoff), []Action{ActDropDialog, ActCountAttempt, ActBackoffTimer}},
	{1<<SubWaitNotify | 1<<SubActive, 1 << EvTimer, int8(SubRefreshing), []Action{ActSend}},
	{1<<SubWaitNotify | 1<<SubActive, 1 << EvLapse, int8(SubBackoff), []Action{ActStale, ActNewDialog, ActCountAttempt, ActBackoffTimer}},
	{1<<SubWaitNotify | 1<<SubActive, 1 << EvStop, int8(SubUnsubscribing), []Action{ActSendStop}},
	{1<<SubWaitNotify | 1<<SubActive, 1 << EvContactChanged, int8(SubSending), []Action{ActNewDialog, ActSend}},
	{1<<SubWaitNotify | 1<<SubActive, 1<<EvStart | 1<<EvStopDone, stay, nil},

	{1 << SubRefreshing, 1 << EvOK, int8(SubActive), []Action{ActSuccess, ActRefreshTimer, ActLapseTimer}},
	{1 << SubRefreshing, 1 << EvNotify, stay, []Action{ActMailbox, ActNotifyLapse}},
	{1 << SubRefreshing, 1<<EvChallenge | 1<<EvChallengeStale, stay, []Action{ActSendAuth}},
	{1 << SubRefreshing, 1 << EvChallengeRepeat, int8(SubAuthFailed), []Action{ActCountAttempt, ActSlowTimer}},
	{1 << SubRefreshing, 1 << EvTooBrief, stay, []Action{ActUseMinExpires, ActSend}},
	// 481: the server forgot the dialog (restart): a new one at once.
	{1 << SubRefreshing, 1 << EvNoDialog, int8(SubSending), []Action{ActNewDialog, ActCountAttempt, ActSend}},
	{1 << SubRefreshing, 1 << EvRefused, int8(SubRejected), []Action{ActNewDialog, ActForget, ActCountAttempt, ActLongTimer}},
	// Timeout, 408, 5xx: the remote target may be dead or moved; the retry
	// goes to the configured server in a new dialog, the old one is
	// un-SUBSCRIBEd best effort.
	{1 << SubRefreshing, 1 << EvTransient, int8(SubBackoff), []Action{ActDropDialog, ActCountAttempt, ActBackoffTimer}},
	{1 << SubRefreshing, 1 << EvStop, int8(SubUnsubscribing), []Action{ActSendStop}},
	{1 << SubRefreshing, 1 << EvLapse, stay, []Action{ActStale}}, // the refresh's answer decides
	{1 << SubRefreshing, 1 << EvContactChanged, int8(SubSending), []Action{ActNewDialog, ActSend}},
	// the refresh timer fired to get here; Timer N is stopped
	{1 << SubRefreshing, 1<<EvTimer | 1<<EvTimerN | 1<<EvStart | 1<<EvStopDone, stay, nil},

	{1<<SubBackoff | 1<<SubAuthFailed, 1 << EvTimer, int8(SubSending), []Action{ActSend}},
	// A NOTIFY in the dialog the retry was for: the subscription exists
	// after all.
	{1<<SubBackoff | 1<<SubAuthFailed, 1 << EvNotify, int8(SubActive), []Action{ActMailbox, ActSuccess, ActRefreshTimer, ActLapseTimer}},
	{1 << SubBackoff, 1<<EvTerminatedNow | 1<<EvTerminatedLater, stay, []Action{ActMailbox, ActNewDialog, ActCountAttempt, ActBackoffTimer}},
	{1 << SubAuthFailed, 1<<EvTerminatedNow | 1<<EvTerminatedLater, stay, []Action{ActMailbox, ActNewDialog, ActSlowTimer}},
	{1<<SubBackoff | 1<<SubAuthFailed, 1 << EvTerminatedFinal, int8(SubRejected), []Action{ActNewDialog, ActForget, ActCountAttempt, ActLongTimer}},
	{1<<SubBackoff | 1<<SubAuthFailed, 1 << EvLapse, stay, []Action{ActStale}},
	{1<<SubBackoff | 1<<SubAuthFailed, 1 << EvStop, int8(SubStopped), []Action{ActDone}},
	// the retry will carry the new Contact; late answers were dropped by
	// generation
	{1<<SubBackoff | 1<<SubAuthFailed, answers | 1<<EvContactChanged | 1<<EvTimerN | 1<<EvStart | 1<<EvStopDone, stay, nil},

	// A final refusal is not undone by a Contact change, a late NOTIFY or
	// a lapse (rejected already says the state is unknown): only the long
	// timer (or a reload) tries again.
	{1 << SubRejected, 1 << EvTimer, int8(SubSending), []Action{ActNewDialog, ActSend}},
	{1 << SubRejected, 1 << EvStop, int8(SubStopped), []Action{ActDone}},
	{1 << SubRejected, answers | subOnly | 1<<EvContactChanged | 1<<EvStart | 1<<EvStopDone, stay, nil},

	// Shutdown: one un-SUBSCRIBE, bounded by the worker's stop timeout.
	{1 << SubUnsubscribing, 1 << EvOK, stay, []Action{ActFinalWait}},
	{1 << SubUnsubscribing, 1<<EvTimer | 1<<EvChallengeRepeat | 1<<EvTooBrief | 1<<EvNoDialog | 1<<EvRefused | 1<<EvTransient | 1<<EvStopDone, int8(SubStopped), []Action{ActDone}},
	{1 << SubUnsubscribing, 1<<EvChallenge | 1<<EvChallengeStale, stay, []Action{ActSendAuth}},
	// the final NOTIFY (Kamailio: reason=timeout)
	{1 << SubUnsubscribing, 1<<EvTerminatedNow | 1<<EvTerminatedLater | 1<<EvTerminatedFinal, int8(SubStopped), []Action{ActDone}},
	{1 << SubUnsubscribing, 1<<EvContactChanged | 1<<EvNotify | 1<<EvLapse | 1<<EvTimerN | 1<<EvStart | 1<<EvStop, stay, nil},

	{1 << SubStopped, answers | subOnly | 1<<EvTimer | 1<<EvContactChanged | 1<<EvStop | 1<<EvStopDone | 1<<EvStart, stay, nil},
}

var subTable = table[SubState](subRows, int(SubStopped)+1)

// NextSub is the subscription state machine. The table is total; an
// unknown pair (a value out of range) keeps the state and does nothing.
func NextSub(s SubState, e Event) (SubState, []Action) {
	if s >= 0 && int(s) < len(subTable) && e >= 0 && e < numEvents && subTable[s][e].ok {
		return subTable[s][e].next, subTable[s][e].actions
	}
	return s, nil
}
