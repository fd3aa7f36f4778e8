package agent

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/sipua"
)

// The compact per-account record shows what the calls told it: the last
// answer per method, the last NOTIFY, a count per outcome (known or not),
// the last unmatched NOTIFY; accounts never heard of are empty.
func TestDiagStoreRecordsEveryCall(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2))
	outcomes := []string{sipua.NotifyApplied, sipua.NotifyOld, sipua.NotifyRefused, sipua.NotifyMalformed, "future-outcome"}
	names := []string{"a", "b", "c"}
	a := newAgent([]spec{{sip: sipua.AccountConfig{Name: "a"}}, {sip: sipua.AccountConfig{Name: "b"}}, {sip: sipua.AccountConfig{Name: "c"}}, {sip: sipua.AccountConfig{Name: "quiet"}}}, uaSpec{}, Options{})
	want := map[string]*AccountDiag{}
	var unmatched *sipua.NotifyInfo
	at := time.Unix(1700000000, 0)
	for i := range 500 {
		at = at.Add(time.Second)
		name := names[rng.IntN(len(names))]
		w := want[name]
		if w == nil {
			w = &AccountDiag{Name: name}
			want[name] = w
		}
		switch rng.IntN(4) {
		case 0:
			a.diag.Answered(name, "REGISTER", 200+i, "ok", at)
			w.LastRegister = &Answer{At: at, Code: 200 + i, Reason: "ok"}
		case 1:
			a.diag.Answered(name, "SUBSCRIBE", 0, "", at)
			w.LastSubscribe = &Answer{At: at}
			a.diag.Answered(name, "OPTIONS", 200, "", at) // not kept
		case 2:
			n := sipua.NotifyInfo{Account: name, At: at, Body: "Messages-Waiting: yes", Outcome: outcomes[rng.IntN(len(outcomes))], Answer: 200}
			a.diag.Notified(n)
			w.LastNotify = &n
			if w.Notifies == nil {
				w.Notifies = map[string]uint64{}
			}
			w.Notifies[n.Outcome]++
		case 3:
			n := sipua.NotifyInfo{At: at, From: "192.0.2.1:5060", Outcome: sipua.NotifyRefused, Answer: 481}
			a.diag.Notified(n)
			unmatched = &n
		}
	}
	d := a.Diagnostics()
	if len(d.Accounts) != 4 {
		t.Fatalf("%d accounts, want 4", len(d.Accounts))
	}
	for i, name := range append(names, "quiet") {
		w := AccountDiag{Name: name}
		if want[name] != nil {
			w = *want[name]
		}
		if !reflect.DeepEqual(d.Accounts[i], w) {
			t.Errorf("account %s:\n got %+v\nwant %+v", name, d.Accounts[i], w)
		}
	}
	if !reflect.DeepEqual(d.Unmatched, unmatched) {
		t.Errorf("unmatched %+v, want %+v", d.Unmatched, unmatched)
	}
	// What Diagnostics returned is the caller's: changing it changes no record.
	if d.Accounts[0].Notifies != nil {
		d.Accounts[0].Notifies["applied"] += 100
		if reflect.DeepEqual(a.Diagnostics().Accounts[0], d.Accounts[0]) {
			t.Error("Diagnostics shares its counters with the store")
		}
	}
}
