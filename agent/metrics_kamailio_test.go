package agent_test

import (
	"bytes"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/metrics"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// Against a real Kamailio: the SIP counters count what was sent and
// received, the troubleshooting view shows the last NOTIFY and answers,
// and promtool accepts /metrics.
func TestKamailioMetricsAndDiagnostics(t *testing.T) {
	itest.Require(t, "kamailio", "sqlite3", "promtool")
	k := kamailiotest.Start(t)
	cfg := kamailioConfig(t, k.Addr, 2, config.DefaultExpiry)
	m := metrics.New()
	a, _, _ := startAgentOpts(t, cfg, agent.Options{Logger: testLogger(t), Observer: m})
	waitSnap(t, a, 10*time.Second, "all subscribed", allHealth(state.HealthSubscribed))
	if _, err := k.Publish("1001", "Messages-Waiting: yes\r\nVoice-Message: 2/0 (0/0)\r\n", ""); err != nil {
		t.Fatal(err)
	}
	waitSnap(t, a, 2*time.Second, "desk-1001 waiting", func(s state.Snapshot) bool {
		acc, _ := s.Account("desk-1001")
		return acc.Waiting == state.WaitingYes
	})
	// The observer hears of a NOTIFY once it is answered, just after its
	// state was applied: give it a moment.
	var out string
	for end := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var b bytes.Buffer
		m.WritePrometheus(&b, a.Snapshot())
		out = b.String()
		if regexp.MustCompile(`mwi_sip_notifies_total\{outcome="applied"\} [3-9]`).MatchString(out) || time.Now().After(end) {
			break
		}
	}
	for _, re := range []string{
		`mwi_sip_requests_total\{method="REGISTER",class="2xx"\} [2-9]`,
		`mwi_sip_requests_total\{method="SUBSCRIBE",class="2xx"\} [2-9]`,
		`mwi_sip_notifies_total\{outcome="applied"\} [3-9]`,
		`mwi_account_new_messages\{account="desk-1001"\} 2`,
		`mwi_account_health\{account="desk-1002",state="subscribed"\} 1`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no %s in\n%s", re, out)
		}
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(out)
	if res, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, res)
	}

	d := a.Diagnostics()
	ad := d.Accounts[0]
	if ad.Name != "desk-1001" || ad.LastRegister == nil || ad.LastRegister.Code != 200 || ad.LastSubscribe == nil || ad.LastSubscribe.Code/100 != 2 {
		t.Fatalf("diagnostics %+v", ad)
	}
	n := ad.LastNotify
	if n == nil || !strings.HasPrefix(n.SubscriptionState, "active") || n.Transport != "UDP" || !strings.Contains(n.Body, "Voice-Message: 2/0") ||
		n.From != k.Addr || n.Outcome != "applied" || n.Answer != 200 {
		t.Errorf("last NOTIFY %+v (kamailio at %s)", n, k.Addr)
	}
	t.Logf("desk-1001: REGISTER %d, SUBSCRIBE %d, NOTIFY from %s %s %q, %s body bytes", ad.LastRegister.Code, ad.LastSubscribe.Code, n.From, n.Transport, n.SubscriptionState, strconv.Itoa(len(n.Body)))
}
