package sipua

import (
	"reflect"
	"testing"
)

func TestRegTable(t *testing.T) {
	tests := []struct {
		name  string
		s     RegState
		e     Event
		want  RegState
		wantA []Action
	}{
		{"start sends REGISTER", RegIdle, EvStart, RegSending, acts(ActSend)},
		{"401 answered", RegSending, EvChallenge, RegSending, acts(ActSendAuth)},
		{"407 stale answered without failure", RegSending, EvChallengeStale, RegSending, acts(ActSendAuth)},
		{"401 after answering = auth failed, slow retry", RegSending, EvChallengeRepeat, RegAuthFailed, acts(ActCountAttempt, ActSlowTimer)},
		{"200 registers and arms refresh", RegSending, EvOK, RegRegistered, acts(ActSuccess, ActRefreshTimer, ActSignalRegistered)},
		{"423 retries with Min-Expires", RegSending, EvTooBrief, RegSending, acts(ActUseMinExpires, ActSend)},
		{"403/404 stop fast", RegSending, EvRefused, RegRefused, acts(ActCountAttempt, ActLongTimer)},
		{"timeout/5xx back off", RegSending, EvTransient, RegBackoff, acts(ActCountAttempt, ActBackoffTimer)},
		{"refresh timer", RegRegistered, EvTimer, RegRefreshing, acts(ActSend)},
		{"contact change re-registers at once", RegRegistered, EvContactChanged, RegRefreshing, acts(ActSend)},
		{"refresh ok", RegRefreshing, EvOK, RegRegistered, acts(ActSuccess, ActRefreshTimer, ActSignalRegistered)},
		{"refresh challenged (nonce expired)", RegRefreshing, EvChallenge, RegRefreshing, acts(ActSendAuth)},
		{"refresh fails transiently", RegRefreshing, EvTransient, RegBackoff, acts(ActCountAttempt, ActBackoffTimer)},
		{"backoff retry", RegBackoff, EvTimer, RegSending, acts(ActSend)},
		{"auth failed slow retry", RegAuthFailed, EvTimer, RegSending, acts(ActSend)},
		{"refused long retry", RegRefused, EvTimer, RegSending, acts(ActSend)},
		{"shutdown unregisters", RegRegistered, EvStop, RegUnregistering, acts(ActSendStop)},
		{"shutdown during refresh unregisters", RegRefreshing, EvStop, RegUnregistering, acts(ActSendStop)},
		{"shutdown while not registered", RegBackoff, EvStop, RegStopped, acts(ActDone)},
		{"unregister challenged", RegUnregistering, EvChallenge, RegUnregistering, acts(ActSendAuth)},
		{"unregister answered", RegUnregistering, EvOK, RegStopped, acts(ActDone)},
		{"unregister bounded", RegUnregistering, EvStopDone, RegStopped, acts(ActDone)},
		{"unregister failure still stops", RegUnregistering, EvTransient, RegStopped, acts(ActDone)},
		{"late response ignored", RegStopped, EvOK, RegStopped, nil},
		{"stray timer ignored while sending", RegSending, EvTimer, RegSending, nil},
		{"481 to REGISTER backs off (no dead end)", RegSending, EvNoDialog, RegBackoff, acts(ActCountAttempt, ActBackoffTimer)},
		{"481 to a REGISTER refresh backs off", RegRefreshing, EvNoDialog, RegBackoff, acts(ActCountAttempt, ActBackoffTimer)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ga := NextReg(tt.s, tt.e)
			if got != tt.want || !reflect.DeepEqual(ga, tt.wantA) {
				t.Errorf("NextReg(%v, %v) = %v %v, want %v %v", tt.s, tt.e, got, ga, tt.want, tt.wantA)
			}
		})
	}
}

func TestSubTable(t *testing.T) {
	tests := []struct {
		name  string
		s     SubState
		e     Event
		want  SubState
		wantA []Action
	}{
		{"start: new dialog, SUBSCRIBE", SubIdle, EvStart, SubSending, acts(ActNewDialog, ActSend)},
		{"2xx first: wait for NOTIFY (Timer N)", SubSending, EvOK, SubWaitNotify, acts(ActSuccess, ActRefreshTimer, ActLapseTimer, ActTimerN)},
		{"NOTIFY before 2xx creates the dialog", SubSending, EvNotify, SubActive, acts(ActMailbox, ActSuccess, ActRefreshTimer, ActLapseTimer)},
		{"late 2xx after NOTIFY re-arms refresh", SubActive, EvOK, SubActive, acts(ActSuccess, ActRefreshTimer, ActLapseTimer)},
		{"first NOTIFY after 2xx (its expires= reschedules)", SubWaitNotify, EvNotify, SubActive, acts(ActMailbox, ActNotifyRefresh)},
		{"Timer N: retry", SubWaitNotify, EvTimerN, SubBackoff, acts(ActNewDialog, ActCountAttempt, ActBackoffTimer)},
		{"407 on SUBSCRIBE answered", SubSending, EvChallenge, SubSending, acts(ActSendAuth)},
		{"wrong password", SubSending, EvChallengeRepeat, SubAuthFailed, acts(ActCountAttempt, ActSlowTimer)},
		{"423 Min-Expires", SubSending, EvTooBrief, SubSending, acts(ActUseMinExpires, ActSend)},
		{"489/403/404 refused", SubSending, EvRefused, SubRejected, acts(ActNewDialog, ActCountAttempt, ActLongTimer)},
		{"503 back off", SubSending, EvTransient, SubBackoff, acts(ActCountAttempt, ActBackoffTimer)},
		{"refresh timer", SubActive, EvTimer, SubRefreshing, acts(ActSend)},
		{"refresh ok", SubRefreshing, EvOK, SubActive, acts(ActSuccess, ActRefreshTimer, ActLapseTimer)},
		{"481 on refresh: new subscription, new Call-ID", SubRefreshing, EvNoDialog, SubSending, acts(ActNewDialog, ActCountAttempt, ActSend)},
		{"423 on refresh", SubRefreshing, EvTooBrief, SubRefreshing, acts(ActUseMinExpires, ActSend)},
		{"refresh times out: old dialog dropped, new one after backoff", SubRefreshing, EvTransient, SubBackoff, acts(ActDropDialog, ActCountAttempt, ActBackoffTimer)},
		{"NOTIFY during refresh", SubRefreshing, EvNotify, SubRefreshing, acts(ActMailbox, ActNotifyLapse)},
		{"deactivated/timeout: re-subscribe after a backoff (a repeat is a failure)", SubActive, EvTerminatedNow, SubBackoff, acts(ActMailbox, ActNewDialog, ActCountAttempt, ActBackoffTimer)},
		{"probation/giveup: later", SubActive, EvTerminatedLater, SubBackoff, acts(ActMailbox, ActNewDialog, ActCountAttempt, ActBackoffTimer)},
		{"rejected/noresource/invariant: no re-subscribe", SubActive, EvTerminatedFinal, SubRejected, acts(ActNewDialog, ActForget, ActCountAttempt, ActLongTimer)},
		{"terminated while waiting for first NOTIFY", SubWaitNotify, EvTerminatedFinal, SubRejected, acts(ActNewDialog, ActForget, ActCountAttempt, ActLongTimer)},
		{"rejected stays rejected on contact change", SubRejected, EvContactChanged, SubRejected, nil},
		{"rejected long timer", SubRejected, EvTimer, SubSending, acts(ActNewDialog, ActSend)},
		{"contact changed: new subscription", SubActive, EvContactChanged, SubSending, acts(ActNewDialog, ActSend)},
		{"lapse while backing off: stale", SubBackoff, EvLapse, SubBackoff, acts(ActStale)},
		{"lapse while auth failing: stale", SubAuthFailed, EvLapse, SubAuthFailed, acts(ActStale)},
		{"lapse while rejected: stays rejected (already unknown)", SubRejected, EvLapse, SubRejected, nil},
		{"refresh refused: rejected, mailbox unknown", SubRefreshing, EvRefused, SubRejected, acts(ActNewDialog, ActForget, ActCountAttempt, ActLongTimer)},
		{"lapse while active: stale and re-subscribe after a backoff", SubActive, EvLapse, SubBackoff, acts(ActStale, ActNewDialog, ActCountAttempt, ActBackoffTimer)},
		{"backoff retry", SubBackoff, EvTimer, SubSending, acts(ActSend)},
		{"shutdown unsubscribes", SubActive, EvStop, SubUnsubscribing, acts(ActSendStop)},
		{"shutdown waiting for NOTIFY unsubscribes", SubWaitNotify, EvStop, SubUnsubscribing, acts(ActSendStop)},
		{"shutdown without dialog", SubBackoff, EvStop, SubStopped, acts(ActDone)},
		{"unsubscribe answered: wait for the final NOTIFY", SubUnsubscribing, EvOK, SubUnsubscribing, acts(ActFinalWait)},
		{"final NOTIFY after unsubscribe", SubUnsubscribing, EvTerminatedNow, SubStopped, acts(ActDone)},
		{"no final NOTIFY: stop after the wait", SubUnsubscribing, EvTimer, SubStopped, acts(ActDone)},
		{"unsubscribe challenged", SubUnsubscribing, EvChallenge, SubUnsubscribing, acts(ActSendAuth)},
		{"unsubscribe bounded", SubUnsubscribing, EvStopDone, SubStopped, acts(ActDone)},
		{"NOTIFY after stop ignored", SubStopped, EvNotify, SubStopped, nil},
		{"481 to an initial SUBSCRIBE: new dialog after a backoff", SubSending, EvNoDialog, SubBackoff, acts(ActNewDialog, ActCountAttempt, ActBackoffTimer)},
		{"termination while retrying keeps backing off", SubBackoff, EvTerminatedNow, SubBackoff, acts(ActMailbox, ActNewDialog, ActCountAttempt, ActBackoffTimer)},
		{"NOTIFY in the dialog being retried: it exists after all", SubBackoff, EvNotify, SubActive, acts(ActMailbox, ActSuccess, ActRefreshTimer, ActLapseTimer)},
		{"NOTIFY while active reschedules from its expires=", SubActive, EvNotify, SubActive, acts(ActMailbox, ActNotifyRefresh)},
		{"refresh 503: new dialog after backoff, old one dropped", SubRefreshing, EvTransient, SubBackoff, acts(ActDropDialog, ActCountAttempt, ActBackoffTimer)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ga := NextSub(tt.s, tt.e)
			if got != tt.want || !reflect.DeepEqual(ga, tt.wantA) {
				t.Errorf("NextSub(%v, %v) = %v %v, want %v %v", tt.s, tt.e, got, ga, tt.want, tt.wantA)
			}
		})
	}
}

// Every live state must get out of trouble: from any state, stop leads to
// Stopped (directly or via one stop-done), and no state swallows a timer
// it armed.
func TestTablesStopEverywhere(t *testing.T) {
	for s := RegIdle; s < RegStopped; s++ {
		n, _ := NextReg(s, EvStop)
		if n != RegStopped {
			n, _ = NextReg(n, EvStopDone)
		}
		if n != RegStopped {
			t.Errorf("registration state %v does not stop", s)
		}
	}
	for s := SubIdle; s < SubStopped; s++ {
		n, _ := NextSub(s, EvStop)
		if n != SubStopped {
			n, _ = NextSub(n, EvStopDone)
		}
		if n != SubStopped {
			t.Errorf("subscription state %v does not stop", s)
		}
	}
	for _, s := range []RegState{RegRegistered, RegBackoff, RegAuthFailed, RegRefused} {
		if n, a := NextReg(s, EvTimer); n == s || len(a) == 0 {
			t.Errorf("registration state %v ignores its timer", s)
		}
	}
	for _, s := range []SubState{SubActive, SubWaitNotify, SubBackoff, SubAuthFailed, SubRejected} {
		if n, a := NextSub(s, EvTimer); n == s || len(a) == 0 {
			t.Errorf("subscription state %v ignores its timer", s)
		}
	}
	if names := len(eventNames); names != int(numEvents) {
		t.Errorf("%d event names for %d events", names, numEvents)
	}
	if names := len(actionNames); names != int(numActions) {
		t.Errorf("%d action names for %d actions", names, numActions)
	}
}

// Every (state, event) pair of both tables has its own row: the cross
// product is enumerated, and every row goes somewhere that can move on.
func TestTablesTotal(t *testing.T) {
	for s := RegIdle; s <= RegStopped; s++ {
		for e := Event(0); e < numEvents; e++ {
			if !regTable[s][e].ok {
				t.Errorf("registration table has no row for (%v, %v)", s, e)
			}
		}
	}
	for s := SubIdle; s <= SubStopped; s++ {
		for e := Event(0); e < numEvents; e++ {
			if !subTable[s][e].ok {
				t.Errorf("subscription table has no row for (%v, %v)", s, e)
			}
		}
	}
	if n, want := len(regTable), int(RegStopped+1); n != want {
		t.Errorf("registration table has %d states, want %d", n, want)
	}
	if n, want := len(subTable), int(SubStopped+1); n != want {
		t.Errorf("subscription table has %d states, want %d", n, want)
	}
	// A row that enters a waiting state must arm its timer or send (or
	// already be in that state, whose timer keeps running).
	waits := func(acts []Action) bool {
		for _, a := range acts {
			switch a {
			case ActSend, ActSendAuth, ActBackoffTimer, ActSlowTimer, ActLongTimer, ActRefreshTimer:
				return true
			}
		}
		return false
	}
	type key[S any] struct {
		s S
		e Event
	}
	for s := range regTable {
		for e := range regTable[s] {
			k, tr := key[RegState]{RegState(s), Event(e)}, regTable[s][e]
			switch tr.next {
			case RegBackoff, RegAuthFailed, RegRefused, RegRegistered, RegSending, RegRefreshing:
				if tr.next != k.s && !waits(tr.actions) {
					t.Errorf("registration (%v, %v) → %v neither sends nor arms a timer", k.s, k.e, tr.next)
				}
			}
		}
	}
	for s := range subTable {
		for e := range subTable[s] {
			k, tr := key[SubState]{SubState(s), Event(e)}, subTable[s][e]
			switch tr.next {
			case SubBackoff, SubAuthFailed, SubRejected, SubActive, SubWaitNotify, SubSending, SubRefreshing:
				// wait-notify → active keeps the refresh timer the 2xx armed
				keeps := k.s == SubWaitNotify && tr.next == SubActive
				if tr.next != k.s && !keeps && !waits(tr.actions) {
					t.Errorf("subscription (%v, %v) → %v neither sends nor arms a timer", k.s, k.e, tr.next)
				}
			}
			for _, a := range tr.actions {
				if a == ActNewDialog || a == ActDropDialog {
					// newDialog stops the leg's timer: the row must re-arm or send
					if !waits(tr.actions) && tr.next != SubIdle {
						t.Errorf("subscription (%v, %v) forgets the dialog and leaves no timer", k.s, k.e)
					}
				}
			}
		}
	}
}

func acts(a ...Action) []Action { return a }
