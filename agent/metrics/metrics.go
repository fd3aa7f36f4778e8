package metrics

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/sipua"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

// Source is the part of *agent.Agent the metrics read at scrape time.
type Source interface {
	Snapshot() state.Snapshot
}

// Metrics is the agent's metrics: the UA's sipua.Observer (pass it in
// agent.Options.Observer) and, with Handler, /metrics. The zero value is
// not usable; call New.
type Metrics struct {
	help     map[string]family
	requests map[string]*counter // "METHOD class"
	notifies map[string]*counter // by outcome
	backoffs map[string]*counter // by leg
	limited  *counter

	mu     sync.Mutex
	series map[string]*counter // every counter by its series ("name{labels}")
}

// counter is one counter series.
type counter struct{ n atomic.Uint64 }

func (c *counter) Inc() { c.n.Add(1) }

type family struct{ typ, help string }

var _ sipua.Observer = (*Metrics)(nil)

// Families, with their HELP text, in the order they are written.
var families = []struct{ name, typ, help string }{
	{"mwi_account_health", "gauge", "1 for the account's current health (state label), 0 for the others."},
	{"mwi_account_known", "gauge", "1 when the agent can vouch for the mailbox state (not unknown, stale or unconfirmed)."},
	{"mwi_account_waiting", "gauge", "1 when messages wait as far as the agent knows (last known if not known)."},
	{"mwi_account_new_messages", "gauge", "New voice messages (all classes when the server sends no voice counts)."},
	{"mwi_account_old_messages", "gauge", "Old voice messages."},
	{"mwi_account_urgent_messages", "gauge", "Urgent new voice messages."},
	{"mwi_account_source", "gauge", "1 for where the mailbox state came from (source label)."},
	{"mwi_account_last_change_timestamp_seconds", "gauge", "Unix time of the last mailbox update (0: never)."},
	{"mwi_account_health_since_timestamp_seconds", "gauge", "Unix time the account entered its current health."},
	{"mwi_sip_requests_total", "counter", "SIP requests sent, by method and answer class (1xx..6xx, or none for a timeout or transport error)."},
	{"mwi_sip_notifies_total", "counter", "NOTIFYs received, by outcome (applied, old, refused, malformed)."},
	{"mwi_sip_backoffs_total", "counter", "Retries delayed by the backoff governor, by leg (register, subscribe)."},
	{"mwi_sip_rate_limited_total", "counter", "Requests that waited for the in-flight limit (max_in_flight)."},
}

var healthStates = []state.Health{state.HealthDisabled, state.HealthRegistering, state.HealthRegistered, state.HealthAuthFailed,
	state.HealthUnreachable, state.HealthSubscribing, state.HealthSubscribed, state.HealthRejected, state.HealthStale}

var sources = []state.Source{state.SourceNone, state.SourceSubscribed, state.SourceUnsolicited, state.SourceManual, state.SourcePersisted}

// New returns empty metrics.
func New() *Metrics {
	m := &Metrics{help: map[string]family{}, series: map[string]*counter{}}
	for _, f := range families {
		m.help[f.name] = family{f.typ, f.help}
	}
	// Every series exists from the start (at 0), and counting is a map
	// lookup and an atomic add: no allocation on the SIP path.
	m.requests, m.notifies, m.backoffs = map[string]*counter{}, map[string]*counter{}, map[string]*counter{}
	for _, method := range []string{"REGISTER", "SUBSCRIBE"} {
		for _, class := range []string{"1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "none"} {
			m.requests[method+" "+class] = m.get(`mwi_sip_requests_total{method="` + method + `",class="` + class + `"}`)
		}
	}
	for _, o := range []string{sipua.NotifyApplied, sipua.NotifyOld, sipua.NotifyRefused, sipua.NotifyMalformed} {
		m.notifies[o] = m.get(`mwi_sip_notifies_total{outcome="` + o + `"}`)
	}
	for _, leg := range []string{"register", "subscribe"} {
		m.backoffs[leg] = m.get(`mwi_sip_backoffs_total{leg="` + leg + `"}`)
	}
	m.limited = m.get("mwi_sip_rate_limited_total")
	return m
}

// counter returns a fixed counter, or creates one for a value not known
// in advance (another method, a future outcome). The series name is built
// only then: building it on every call (a label escaped by a new
// strings.Replacer, 6 KB of lookup table each) was 13 MB of garbage in a
// 1,000-account start-up.
func (m *Metrics) counter(fixed map[string]*counter, key string, name func() string) *counter {
	if c := fixed[key]; c != nil {
		return c
	}
	return m.get(name())
}

// get returns the counter of a series, creating it at 0.
func (m *Metrics) get(series string) *counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.series[series]
	if c == nil {
		c = &counter{}
		m.series[series] = c
	}
	return c
}

// writeCounters writes every counter series as "series value", by family
// name and then by series, so a family's series are together.
//
// The series names are sorted as strings, not as structs: every sort of a
// new element type is another copy of the sort code (8 KB on armv6).
func (m *Metrics) writeCounters(b *bytes.Buffer) {
	m.mu.Lock()
	names := make([]string, 0, len(m.series))
	values := make(map[string]uint64, len(m.series))
	for s, c := range m.series {
		names = append(names, s)
		values[s] = c.n.Load()
	}
	m.mu.Unlock()
	family := func(s string) string { f, _, _ := strings.Cut(s, "{"); return f }
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(strings.Compare(family(a), family(b)), strings.Compare(a, b))
	})
	for _, s := range names {
		b.WriteString(s)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatUint(values[s], 10))
		b.WriteByte('\n')
	}
}

// Answered counts one request by method and answer class.
func (m *Metrics) Answered(_, method string, code int, _ string, _ time.Time) {
	class := "none"
	if code >= 100 && code < 700 {
		class = strconv.Itoa(code/100) + "xx"
	}
	m.counter(m.requests, method+" "+class, func() string {
		return `mwi_sip_requests_total{method="` + label(method) + `",class="` + class + `"}`
	}).Inc()
}

// Notified counts one NOTIFY by outcome.
func (m *Metrics) Notified(n sipua.NotifyInfo) {
	m.counter(m.notifies, n.Outcome, func() string { return `mwi_sip_notifies_total{outcome="` + label(n.Outcome) + `"}` }).Inc()
}

// BackedOff counts one delayed retry.
func (m *Metrics) BackedOff(_, leg string) {
	m.counter(m.backoffs, leg, func() string { return `mwi_sip_backoffs_total{leg="` + label(leg) + `"}` }).Inc()
}

// Throttled counts one wait for the in-flight limit.
func (m *Metrics) Throttled(string) {
	m.limited.Inc()
}

// labelEscaper escapes a Prometheus label value (built once: each
// strings.NewReplacer builds its lookup tables on first use).
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// label escapes a Prometheus label value.
func label(s string) string { return labelEscaper.Replace(s) }

// WritePrometheus writes every metric in the Prometheus text format, the
// per-account ones from s.
func (m *Metrics) WritePrometheus(w io.Writer, s state.Snapshot) {
	var b bytes.Buffer
	g := func(name string, acc string, extra string, v float64) {
		fmt.Fprintf(&b, "%s{account=\"%s\"%s} %s\n", name, label(acc), extra, strconv.FormatFloat(v, 'g', -1, 64))
	}
	b01 := func(x bool) float64 {
		if x {
			return 1
		}
		return 0
	}
	for _, f := range families[:9] {
		for _, a := range s.Accounts {
			t := a.Total()
			if _, ok := a.Classes[state.ClassVoice]; ok {
				t = a.Voice()
			}
			switch f.name {
			case "mwi_account_health":
				for _, h := range healthStates {
					g(f.name, a.Name, `,state="`+h.String()+`"`, b01(a.Health == h))
				}
			case "mwi_account_known":
				g(f.name, a.Name, "", b01(a.Known()))
			case "mwi_account_waiting":
				g(f.name, a.Name, "", b01(a.Waiting == state.WaitingYes))
			case "mwi_account_new_messages":
				g(f.name, a.Name, "", float64(t.New))
			case "mwi_account_old_messages":
				g(f.name, a.Name, "", float64(t.Old))
			case "mwi_account_urgent_messages":
				g(f.name, a.Name, "", float64(t.UrgentNew))
			case "mwi_account_source":
				for _, src := range sources {
					g(f.name, a.Name, `,source="`+src.String()+`"`, b01(a.Source == src))
				}
			case "mwi_account_last_change_timestamp_seconds":
				g(f.name, a.Name, "", unix(a.Updated))
			case "mwi_account_health_since_timestamp_seconds":
				g(f.name, a.Name, "", unix(a.Since))
			}
		}
	}
	m.writeCounters(&b)
	m.withMetadata(w, b.Bytes())
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

// withMetadata copies the samples and puts HELP and TYPE before each
// family.
func (m *Metrics) withMetadata(w io.Writer, samples []byte) {
	bw := bufio.NewWriter(w)
	last := ""
	for _, line := range bytes.SplitAfter(samples, []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		name := string(line)
		if i := strings.IndexAny(name, "{ "); i >= 0 {
			name = name[:i]
		}
		if name != last {
			if f, ok := m.help[name]; ok {
				fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, f.help, name, f.typ)
			}
			last = name
		}
		bw.Write(line)
	}
	bw.Flush()
}

// Handler serves /metrics with src's current state.
func (m *Metrics) Handler(src Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.WritePrometheus(w, src.Snapshot())
	})
}
