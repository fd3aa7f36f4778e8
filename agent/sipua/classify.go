package sipua

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// SubscriptionState is a parsed Subscription-State header (RFC 6665).
type SubscriptionState struct {
	State      string // active, pending, terminated ("" if absent)
	Reason     string
	Expires    time.Duration // -1 if absent
	RetryAfter time.Duration // -1 if absent
}

// ParseSubscriptionState reads `active;expires=3600` or
// `terminated;reason=timeout;retry-after=30`.
func ParseSubscriptionState(v string) SubscriptionState {
	s := SubscriptionState{Expires: -1, RetryAfter: -1}
	parts := strings.Split(v, ";")
	s.State = strings.ToLower(strings.TrimSpace(parts[0]))
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		k, val = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(val)
		switch k {
		case "reason":
			s.Reason = strings.ToLower(val)
		case "expires":
			if n, err := strconv.Atoi(val); err == nil && n >= 0 {
				s.Expires = seconds(n)
			}
		case "retry-after":
			if n, err := strconv.Atoi(val); err == nil && n >= 0 {
				s.RetryAfter = seconds(n)
			}
		}
	}
	return s
}

// Event maps the NOTIFY's Subscription-State to a subscription event,
// following the reason table in RFC 6665 section 4.2.2.
func (s SubscriptionState) Event() Event {
	if s.State != "terminated" {
		return EvNotify // active, pending, or absent (lenient)
	}
	switch s.Reason {
	case "probation", "giveup":
		return EvTerminatedLater
	case "rejected", "noresource", "invariant":
		return EvTerminatedFinal
	}
	// deactivated, timeout, no reason or an unknown one: re-subscribe now.
	return EvTerminatedNow
}

// Outcome is a classified final response (or failure) to one of our requests.
type Outcome struct {
	Event      Event
	Status     int
	Reason     string
	RetryAfter time.Duration // 0 if absent
	MinExpires time.Duration // 423
	Expires    time.Duration // Expires header, -1 if absent
}

// Classify turns the result of a transaction into an event. answeredFresh
// says whether the request carried an answer to a challenge received just
// before (not a pre-emptive reuse of an old one): a 401/407 to such a
// request, unless stale=true, means the credentials are wrong.
func Classify(res *sip.Response, err error, answeredFresh bool) Outcome {
	o := Outcome{Expires: -1}
	if err != nil || res == nil {
		o.Event = EvTransient
		o.Reason = "transport: " + errText(err)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sip.ErrTransactionTimeout) {
			o.Reason = "timeout"
		}
		return o
	}
	o.Status, o.Reason = res.StatusCode, res.Reason
	if h := res.GetHeader("Retry-After"); h != nil {
		v, _, _ := strings.Cut(h.Value(), ";")
		v, _, _ = strings.Cut(v, "(")
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			o.RetryAfter = seconds(n)
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			o.Expires = seconds(n)
		}
	}
	switch c := res.StatusCode; {
	case c >= 200 && c < 300:
		o.Event = EvOK
	case c == 401 || c == 407:
		switch {
		case challengeStale(res):
			o.Event = EvChallengeStale
		case answeredFresh:
			o.Event = EvChallengeRepeat
		default:
			o.Event = EvChallenge
		}
	case c == 423:
		o.Event = EvTooBrief
		if h := res.GetHeader("Min-Expires"); h != nil {
			if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
				o.MinExpires = seconds(n)
			}
		}
		if o.MinExpires == 0 { // a 423 without Min-Expires: treat as a failure
			o.Event = EvTransient
		}
	case c == 481:
		o.Event = EvNoDialog
	case c == 408 || c == 480 || c >= 500 && c < 600:
		o.Event = EvTransient
	default: // 403, 404, 489, 488 and every other final refusal
		o.Event = EvRefused
	}
	return o
}

func challengeStale(res *sip.Response) bool {
	for _, name := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
		for _, h := range res.GetHeaders(name) {
			for _, p := range strings.Split(h.Value(), ",") {
				k, v, _ := strings.Cut(p, "=")
				if strings.EqualFold(strings.TrimSpace(k), "stale") && strings.EqualFold(strings.Trim(strings.TrimSpace(v), `"`), "true") {
					return true
				}
				// "Digest stale=true" when it is the first parameter
				if f := strings.Fields(k); len(f) == 2 && strings.EqualFold(f[1], "stale") && strings.EqualFold(strings.Trim(strings.TrimSpace(v), `"`), "true") {
					return true
				}
			}
		}
	}
	return false
}

func errText(err error) string {
	if err == nil {
		return "no response"
	}
	return err.Error()
}

// seconds converts a header's seconds, saturating at 100 years (a server
// may send any number; the governor clamps what it takes).
func seconds(n int) time.Duration {
	const most = 100 * 365 * 24 * time.Hour // in Duration: the seconds overflow a 32-bit int
	switch {
	case n <= 0:
		return 0
	case int64(n) >= int64(most/time.Second):
		return most
	}
	return time.Duration(n) * time.Second
}
