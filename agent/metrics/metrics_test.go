package metrics_test

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/metrics"
	"github.com/mwi-agent/mwi-agent/agent/sipua"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

type snap state.Snapshot

func sample() snap {
	return snap{Accounts: []state.Account{
		{Name: "office", Waiting: state.WaitingYes, Health: state.HealthSubscribed, Source: state.SourceSubscribed,
			Classes: map[string]state.Counts{state.ClassVoice: {New: 3, Old: 2, UrgentNew: 1}}, Updated: time.Unix(1700000000, 500e6), Since: time.Unix(1700000000, 0)},
		{Name: `odd"name\x`, Waiting: state.WaitingUnknown, Health: state.HealthStale},
		{Name: "room-101", Waiting: state.WaitingNo, Source: state.SourceManual, Health: state.HealthSubscribed},
	}}
}

func observe(m *metrics.Metrics) {
	m.Answered("office", "REGISTER", 401, "Unauthorized", time.Now())
	m.Answered("office", "REGISTER", 200, "OK", time.Now())
	m.Answered("office", "SUBSCRIBE", 0, "timeout", time.Now())
	m.Notified(sipua.NotifyInfo{Outcome: sipua.NotifyApplied})
	m.Notified(sipua.NotifyInfo{Outcome: sipua.NotifyMalformed})
	m.BackedOff("office", "subscribe")
	m.Throttled("office")
	m.Answered("office", "OPTIONS", 200, "OK", time.Now())    // a series not made in advance
	m.Notified(sipua.NotifyInfo{Outcome: "odd\"outcome\\\n"}) // escaped label value
}

func TestExposition(t *testing.T) {
	m := metrics.New()
	observe(m)
	var b bytes.Buffer
	m.WritePrometheus(&b, state.Snapshot(sample()))
	out := b.String()
	for _, want := range []string{
		`mwi_account_new_messages{account="office"} 3`,
		`mwi_account_urgent_messages{account="office"} 1`,
		`mwi_account_waiting{account="office"} 1`,
		`mwi_account_known{account="odd\"name\\x"} 0`,
		`mwi_account_health{account="odd\"name\\x",state="stale"} 1`,
		`mwi_account_health{account="office",state="stale"} 0`,
		`mwi_account_source{account="room-101",source="manual"} 1`,
		`mwi_account_last_change_timestamp_seconds{account="office"} 1.7000000005e+09`,
		`mwi_sip_requests_total{method="REGISTER",class="4xx"} 1`,
		`mwi_sip_requests_total{method="REGISTER",class="2xx"} 1`,
		`mwi_sip_requests_total{method="SUBSCRIBE",class="none"} 1`,
		`mwi_sip_notifies_total{outcome="applied"} 1`,
		`mwi_sip_notifies_total{outcome="old"} 0`,
		`mwi_sip_backoffs_total{leg="subscribe"} 1`,
		`mwi_sip_rate_limited_total 1`,
		`mwi_sip_requests_total{method="OPTIONS",class="2xx"} 1`,
		`mwi_sip_notifies_total{outcome="odd\"outcome\\\n"} 1`,
		"# HELP mwi_sip_notifies_total NOTIFYs received",
		"# TYPE mwi_sip_notifies_total counter",
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if n := strings.Count(out, "# TYPE mwi_account_health gauge"); n != 1 {
		t.Errorf("%d TYPE lines for one family", n)
	}
}

// promtool (Debian's prometheus package) accepts the exposition, lint
// included.
func TestPromtoolCheckMetrics(t *testing.T) {
	itest.Require(t, "promtool")
	m := metrics.New()
	observe(m)
	var b bytes.Buffer
	m.WritePrometheus(&b, state.Snapshot(sample()))
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = &b
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n--- input:\n%s", err, out, b.String())
	}
}

// Counting from many goroutines (the UA's workers) loses nothing, new
// series included; each family's samples follow its one HELP and TYPE.
func TestConcurrentCounting(t *testing.T) {
	m := metrics.New()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				m.Answered("a", "REGISTER", 200, "OK", time.Time{})
				m.Answered("a", "MESSAGE", 500+g, "x", time.Time{})
				m.Throttled("a")
			}
		}()
	}
	done := make(chan struct{})
	go func() { // scrapes while counting
		defer close(done)
		for range 50 {
			m.WritePrometheus(io.Discard, state.Snapshot{})
		}
	}()
	wg.Wait()
	<-done
	var b bytes.Buffer
	m.WritePrometheus(&b, state.Snapshot{})
	out := b.String()
	for _, want := range []string{
		`mwi_sip_requests_total{method="REGISTER",class="2xx"} 8000` + "\n",
		`mwi_sip_requests_total{method="MESSAGE",class="5xx"} 8000` + "\n",
		"mwi_sip_rate_limited_total 8000\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	family, seen := "", map[string]bool{}
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(strings.Fields(line)[0], "{")
		if name != family {
			if seen[name] {
				t.Errorf("family %s split:\n%s", name, out)
			}
			seen[name], family = true, name
		}
	}
}

// Counting the series made in advance allocates nothing: the SIP path of
// every account calls it several times during a start-up.
func TestCountingAllocatesNothing(t *testing.T) {
	m := metrics.New()
	if n := testing.AllocsPerRun(100, func() {
		m.Answered("office", "REGISTER", 401, "Unauthorized", time.Time{})
		m.Answered("office", "SUBSCRIBE", 0, "timeout", time.Time{})
		m.Notified(sipua.NotifyInfo{Outcome: sipua.NotifyApplied})
		m.BackedOff("office", "register")
		m.Throttled("office")
	}); n != 0 {
		t.Errorf("%v allocations a round, want 0", n)
	}
}

func BenchmarkWritePrometheus256(b *testing.B) {
	var s snap
	for i := range 256 {
		s.Accounts = append(s.Accounts, state.Account{Name: "acct-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Waiting: state.WaitingYes,
			Classes: map[string]state.Counts{state.ClassVoice: {New: 1}}})
	}
	m := metrics.New()
	observe(m)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		m.WritePrometheus(&buf, state.Snapshot(s))
	}
}
