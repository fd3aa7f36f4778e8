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
	accts     map[string]*AccountDiag
	unmatched *sipua.NotifyInfo
}

var _ sipua.Observer = (*diagStore)(nil)

func (d *diagStore) acct(name string) *AccountDiag {
	if d.accts == nil {
		d.accts = map[string]*AccountDiag{}
	}
	a := d.accts[name]
	if a == nil {
		a = &AccountDiag{Name: name}
		d.accts[name] = a
	}
	return a
}

func (d *diagStore) Answered(account, method string, code int, reason string, at time.Time) {
	d.mu.Lock()
	ans := &Answer{At: at, Code: code, Reason: reason}
	switch method {
	case "REGISTER":
		d.acct(account).LastRegister = ans
	case "SUBSCRIBE":
		d.acct(account).LastSubscribe = ans
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
		a.LastNotify = &n
		if a.Notifies == nil {
			a.Notifies = map[string]uint64{}
		}
		a.Notifies[n.Outcome]++
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
		if p := d.accts[n]; p != nil {
			ad = *p
			if p.Notifies != nil {
				ad.Notifies = make(map[string]uint64, len(p.Notifies))
				for k, v := range p.Notifies {
					ad.Notifies[k] = v
				}
			}
		}
		out.Accounts = append(out.Accounts, ad)
	}
	if d.unmatched != nil {
		u := *d.unmatched
		out.Unmatched = &u
	}
	return out
}
