package sipua

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// In-dialog NOTIFY → Update over UDP loopback: sipgo transport and server
// transaction, dialog match, parser, worker, subscription FSM. Alternating
// bodies so each NOTIFY changes the state. -benchtime=2000x.
func BenchmarkInDialogNotify(b *testing.B) {
	p := newPBX(b, nil)
	p.setBody(bodyNo)
	h := newHarness(b, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("1001", "udp")
	cfg.Register = false
	h.start(ctx, cfg)
	h.waitWaiting("1001", state.WaitingNo, 0, 3*time.Second)
	sub := p.onlySub()
	for len(h.updates) > 0 {
		<-h.updates
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		body, want := bodyNo, state.WaitingNo
		if i%2 == 0 {
			body, want = bodyYes, state.WaitingYes
		}
		sent := make(chan error, 1)
		t0 := time.Now()
		go func() { _, err := p.notify(sub, "active", body); sent <- err }()
		for {
			u := <-h.updates
			if u.Mailbox != nil && u.Mailbox.Waiting == want {
				break
			}
		}
		lat = append(lat, time.Since(t0))
		if err := <-sent; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "median-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
}
