package sipua

import "github.com/mwi-agent/mwi-agent/agent/state"

// health is an account's health from its legs' states: a pure function,
// tested as a table (health_test.go). last is the health reported before;
// a stopped leg keeps it. unreachable: the server's liveness probe gets no
// answer — whatever the legs last heard, nothing can be vouched for.
func health(register, subscribe bool, reg RegState, sub SubState, stale, unreachable bool, last state.Health) state.Health {
	if !register && !subscribe {
		return state.HealthDisabled
	}
	if unreachable {
		return state.HealthUnreachable
	}
	if stale {
		return state.HealthStale
	}
	if register {
		switch reg {
		case RegAuthFailed:
			return state.HealthAuthFailed
		case RegBackoff:
			return state.HealthUnreachable
		case RegRefused:
			return state.HealthRejected
		}
	}
	if subscribe {
		switch sub {
		case SubActive, SubRefreshing, SubUnsubscribing:
			return state.HealthSubscribed
		case SubBackoff:
			return state.HealthUnreachable
		case SubAuthFailed:
			return state.HealthAuthFailed
		case SubRejected:
			return state.HealthRejected
		case SubStopped:
			return last
		}
		if register && (reg == RegSending || reg == RegIdle) {
			return state.HealthRegistering
		}
		return state.HealthSubscribing
	}
	switch reg {
	case RegRegistered, RegRefreshing, RegUnregistering:
		return state.HealthRegistered
	case RegStopped:
		return last
	}
	return state.HealthRegistering
}
