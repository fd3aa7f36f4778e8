package sipua

import (
	"time"

	"github.com/emiago/sipgo/sip"
)

// Observer is told what the user agent sends and receives, for metrics
// and the troubleshooting view (agent's Diagnostics, /metrics). Its
// methods are called from worker and sipgo goroutines: they copy what
// they need and return at once; they never block and never call back
// into the UA. Set it in Options.Observer; nil observes nothing.
type Observer interface {
	// Answered: one request (REGISTER, SUBSCRIBE) got its final answer;
	// code 0 means none came (timeout, transport error).
	Answered(account, method string, code int, reason string, at time.Time)
	// Notified: one NOTIFY arrived, with what became of it.
	Notified(n NotifyInfo)
	// BackedOff: a leg ("register", "subscribe") waits before trying
	// again (the backoff governor's delay, with jitter).
	BackedOff(account, leg string)
	// Throttled: a request waited for the in-flight limit (MaxInFlight),
	// or an unsolicited NOTIFY was refused by the per-account rate limit.
	Throttled(account string)
}

// NotifyMaxBody is how much of a NOTIFY body NotifyInfo keeps.
const NotifyMaxBody = 512

// NOTIFY outcomes.
const (
	NotifyApplied   = "applied"   // answered 200; its state was handed to the agent
	NotifyOld       = "old"       // answered 200 but older than one already applied (CSeq, or arrival order for unsolicited)
	NotifyRefused   = "refused"   // answered 403/481/489, or 500 (rate limit, busy): not ours, not allowed, not message-summary, not now
	NotifyMalformed = "malformed" // answered 400: unusable body, state kept
)

// NotifyInfo is one received NOTIFY as the troubleshooting view shows it.
type NotifyInfo struct {
	Account           string // "" when it matched no account
	At                time.Time
	From              string // source address host:port
	Transport         string // UDP, TCP, TLS
	SubscriptionState string // the header as received ("" for unsolicited)
	Body              string // the first NotifyMaxBody bytes
	Outcome           string // Notify*
	Answer            int    // the status code we answered
}

func newNotifyInfo(from, transport, subState string, body []byte, at time.Time) NotifyInfo {
	if len(body) > NotifyMaxBody {
		body = body[:NotifyMaxBody]
	}
	return NotifyInfo{At: at, From: from, Transport: transport, SubscriptionState: subState, Body: string(body)}
}

func (u *UA) observeAnswer(account, method string, res *sip.Response, err error, at time.Time) {
	obs := u.opts.Observer
	if obs == nil {
		return
	}
	if res != nil {
		obs.Answered(account, method, res.StatusCode, res.Reason, at)
		return
	}
	reason := "no answer"
	if err != nil {
		reason = err.Error()
	}
	obs.Answered(account, method, 0, reason, at)
}

func (u *UA) observeBackoff(account, leg string) {
	if u.opts.Observer != nil {
		u.opts.Observer.BackedOff(account, leg)
	}
}

func (u *UA) observeThrottled(account string) {
	if u.opts.Observer != nil {
		u.opts.Observer.Throttled(account)
	}
}
