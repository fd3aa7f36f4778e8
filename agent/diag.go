package agent

import (
	"sync"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/sipua"
)

// Answer is the last final answer to one kind of request.
type Answer struct {
	At     time.Time `json:"at"`
	Code   int       `json:"code"` // 0: no answer (timeout, transport error)
	Reason string    `json:"reason,omitempty"`
}

// AccountDiag is one account's troubleshooting view: "is the server
// sending anything at all?"
type AccountDiag struct {
	Name          string            `json:"name"`
	LastNotify    *sipua.NotifyInfo `json:"last_notify,omitempty"`
	LastRegister  *Answer           `json:"last_register,omitempty"`
	LastSubscribe *Answer           `json:"last_subscribe,omitempty"`
	Notifies      map[string]uint64 `json:"notifies,omitempty"` // by outcome
}

// Diagnostics is every configured account's troubleshooting view, in
// configuration order, and the last NOTIFY that matched no account.
type Diagnostics struct {
	Accounts  []AccountDiag     `json:"accounts"`
	Unmatched *sipua.NotifyInfo `json:"unmatched_notify,omitempty"`
}

// diagStore keeps the last NOTIFY and answers per account. It is the UA's
// Observer and passes every call on to the configured one (metrics).
type diagStore struct {
	next sipua.Observer

	mu        sync.Mutex
	accts     map[string]*diagRecord
	unmatched *sipua.NotifyInfo
}

// diagOutcomes are the NOTIFY outcomes counted in place; any other goes to
// diagRecord.other.
var diagOutcomes = [...]string{sipua.NotifyApplied, sipua.NotifyOld, sipua.NotifyRefused, sipua.NotifyMalformed}

// diagRecord is what diagStore keeps of one account: compact (answers by
// value, counters in place of a map, about 0.3 KB less an account than an
// AccountDiag with its map); Diagnostics builds the AccountDiag.
type diagRecord struct {
	notify        *sipua.NotifyInfo
	reg, sub      Answer
	hasReg, hasSb bool
	counts        [len(diagOutcomes)]uint64
	other         map[string]uint64 // outcomes not in diagOutcomes
}

func (r *diagRecord) view(name string) AccountDiag {
	ad := AccountDiag{Name: name}
	if r.notify != nil {
		n := *r.notify
		ad.LastNotify = &n
	}
	if r.hasReg {
		a := r.reg
		ad.LastRegister = &a
	}
	if r.hasSb {
		a := r.sub
		ad.LastSubscribe = &a
	}
	for i, c := range r.counts {
		if c > 0 {
			if ad.Notifies == nil {
				ad.Notifies = map[string]uint64{}
			}
			ad.Notifies[diagOutcomes[i]] = c
		}
	}
	for k, v := range r.other {
		if ad.Notifies == nil {
			ad.Notifies = map[string]uint64{}
		}
		ad.Notifies[k] = v
	}
	return ad
}

var _ sipua.Observer = (*diagStore)(nil)

func (d *diagStore) acct(name string) *diagRecord {
	if d.accts == nil {
		d.accts = map[string]*diagRecord{}
	}
	a := d.accts[name]
	if a == nil {
		a = &diagRecord{}
		d.accts[name] = a
	}
	return a
}

func (d *diagStore) Answered(account, method string, code int, reason string, at time.Time) {
	d.mu.Lock()
	ans := Answer{At: at, Code: code, Reason: reason}
	switch method {
	case "REGISTER":
		r := d.acct(account)
		r.reg, r.hasReg = ans, true
	case "SUBSCRIBE":
		r := d.acct(account)
		r.sub, r.hasSb = ans, true
	}
	d.mu.Unlock()
	if d.next != nil {
		d.next.Answered(account, method, code, reason, at)
	}
}

func (d *diagStore) Notified(n sipua.NotifyInfo) {
	d.mu.Lock()
	if n.Account == "" {
		d.unmatched = &n
	} else if len(d.accts) < 100000 || d.accts[n.Account] != nil {
		a := d.acct(n.Account)
		a.notify = &n
		counted := false
		for i, o := range diagOutcomes {
			if o == n.Outcome {
				a.counts[i]++
				counted = true
				break
			}
		}
		if !counted {
			if a.other == nil {
				a.other = map[string]uint64{}
			}
			a.other[n.Outcome]++
		}
	}
	d.mu.Unlock()
	if d.next != nil {
		d.next.Notified(n)
	}
}

func (d *diagStore) BackedOff(account, leg string) {
	if d.next != nil {
		d.next.BackedOff(account, leg)
	}
}

func (d *diagStore) Throttled(account string) {
	if d.next != nil {
		d.next.Throttled(account)
	}
}

// Diagnostics returns the troubleshooting view of every configured
// account (the last NOTIFY with its source, transport, Subscription-State
// and first 512 bytes of body; the last REGISTER and SUBSCRIBE answers).
func (a *Agent) Diagnostics() Diagnostics {
	a.mu.Lock()
	names := make([]string, len(a.specs))
	for i, sp := range a.specs {
		names[i] = sp.sip.Name
	}
	a.mu.Unlock()
	d := &a.diag
	d.mu.Lock()
	defer d.mu.Unlock()
	out := Diagnostics{Accounts: make([]AccountDiag, 0, len(names))}
	for _, n := range names {
		ad := AccountDiag{Name: n}
		if r := d.accts[n]; r != nil {
			ad = r.view(n)
		}
		out.Accounts = append(out.Accounts, ad)
	}
	if d.unmatched != nil {
		u := *d.unmatched
		out.Unmatched = &u
	}
	return out
}
