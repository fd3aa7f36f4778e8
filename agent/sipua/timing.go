package sipua

import "time"

// RefreshDelay is when to refresh a registration or subscription the server
// granted for granted: early enough that one lost transaction (32 s) still
// fits before expiry, never later than half way for short grants.
//
//	3600 s → 3240 s, 600 s → 540 s, 60 s → 30 s, 2 s → 1 s
func RefreshDelay(granted time.Duration) time.Duration {
	if granted <= 0 {
		return 0
	}
	margin := granted / 10
	if margin < 32*time.Second {
		margin = 32 * time.Second
	}
	if margin > granted/2 {
		margin = granted / 2
	}
	return granted - margin
}

// Backoff is the delay before retry number attempt (1-based) after a
// transient failure: exponential from base, capped at max, with ±25 %
// jitter so that many accounts do not retry in lock-step. A server's
// Retry-After wins when it is longer (clamped at MaxRetryAfter).
type Backoff struct {
	Base, Max time.Duration
}

// defaultBackoff (Options.Backoff zero): 1 s, 2 s, 4 s … capped at 5 minutes.
func defaultBackoff() Backoff { return Backoff{Base: time.Second, Max: 5 * time.Minute} }

// Delay computes the delay; rnd returns a float in [0,1) (nil: math/rand).
func (b Backoff) Delay(attempt int, retryAfter time.Duration, rnd func() float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := b.Base
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	d = jitter(d, rnd)
	if retryAfter = clampRetryAfter(retryAfter); retryAfter > d {
		d = retryAfter
	}
	return d
}
