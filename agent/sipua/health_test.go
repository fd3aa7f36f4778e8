package sipua

import (
	"testing"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

func TestHealth(t *testing.T) {
	const (
		reg, sub = true, true
		none     = false
	)
	for _, tt := range []struct {
		name      string
		register  bool
		subscribe bool
		r         RegState
		s         SubState
		stale     bool
		last      state.Health
		want      state.Health
	}{
		{"nothing configured", none, none, RegStopped, SubStopped, false, state.HealthDisabled, state.HealthDisabled},
		{"stale wins over everything", reg, sub, RegAuthFailed, SubActive, true, state.HealthSubscribed, state.HealthStale},
		{"registering at start", reg, sub, RegSending, SubIdle, false, state.HealthDisabled, state.HealthRegistering},
		{"registration idle", reg, sub, RegIdle, SubIdle, false, state.HealthDisabled, state.HealthRegistering},
		{"registered, subscribing", reg, sub, RegRegistered, SubSending, false, state.HealthRegistering, state.HealthSubscribing},
		{"subscribed", reg, sub, RegRegistered, SubActive, false, state.HealthSubscribing, state.HealthSubscribed},
		{"subscribed while refreshing", reg, sub, RegRefreshing, SubRefreshing, false, state.HealthSubscribed, state.HealthSubscribed},
		{"subscribed while waiting for first NOTIFY is subscribing", reg, sub, RegRegistered, SubWaitNotify, false, state.HealthSubscribing, state.HealthSubscribing},
		{"registration auth failed", reg, sub, RegAuthFailed, SubActive, false, state.HealthSubscribed, state.HealthAuthFailed},
		{"registration backing off", reg, sub, RegBackoff, SubActive, false, state.HealthSubscribed, state.HealthUnreachable},
		{"registration refused", reg, sub, RegRefused, SubIdle, false, state.HealthRegistering, state.HealthRejected},
		{"subscription backing off", reg, sub, RegRegistered, SubBackoff, false, state.HealthSubscribed, state.HealthUnreachable},
		{"subscription auth failed", reg, sub, RegRegistered, SubAuthFailed, false, state.HealthSubscribed, state.HealthAuthFailed},
		{"subscription rejected", reg, sub, RegRegistered, SubRejected, false, state.HealthSubscribed, state.HealthRejected},
		{"stopped subscription keeps the last health", reg, sub, RegStopped, SubStopped, false, state.HealthSubscribed, state.HealthSubscribed},
		{"unsubscribing still subscribed", reg, sub, RegUnregistering, SubUnsubscribing, false, state.HealthSubscribed, state.HealthSubscribed},
		{"subscribe only, sending", none, sub, RegStopped, SubSending, false, state.HealthDisabled, state.HealthSubscribing},
		{"subscribe only, active", none, sub, RegStopped, SubActive, false, state.HealthSubscribing, state.HealthSubscribed},
		{"register only, sending", reg, none, RegSending, SubStopped, false, state.HealthDisabled, state.HealthRegistering},
		{"register only, registered", reg, none, RegRegistered, SubStopped, false, state.HealthRegistering, state.HealthRegistered},
		{"register only, refreshing", reg, none, RegRefreshing, SubStopped, false, state.HealthRegistered, state.HealthRegistered},
		{"register only, stopped keeps last", reg, none, RegStopped, SubStopped, false, state.HealthRegistered, state.HealthRegistered},
		{"register only, refused", reg, none, RegRefused, SubStopped, false, state.HealthRegistered, state.HealthRejected},
	} {
		if tt.register || tt.subscribe {
			if got := health(tt.register, tt.subscribe, tt.r, tt.s, tt.stale, true, tt.last); got != state.HealthUnreachable {
				t.Errorf("%s, server not answering: health %v, want unreachable", tt.name, got)
			}
		}
		if got := health(tt.register, tt.subscribe, tt.r, tt.s, tt.stale, false, tt.last); got != tt.want {
			t.Errorf("%s: health(%v, %v, %v, %v, stale=%v, last=%v) = %v, want %v", tt.name, tt.register, tt.subscribe, tt.r, tt.s, tt.stale, tt.last, got, tt.want)
		}
	}
}
