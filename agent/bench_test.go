package agent_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

func reportLatencies(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "median-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(float64(len(lat)), "samples")
}

// waitChange reads w until acc's waiting equals want.
func waitChange(b *testing.B, w <-chan state.Snapshot, name string, want state.Waiting) {
	deadline := time.After(5 * time.Second)
	for {
		select {
		case s := <-w:
			if acc, _ := s.Account(name); acc.Waiting == want {
				return
			}
		case <-deadline:
			b.Fatalf("%s never became %v", name, want)
		}
	}
}

// NOTIFY → state change over UDP loopback, the whole path: sipgo handler,
// RFC 3842 parser, account worker, agent loop, Watch. Alternating yes/no so
// every NOTIFY is a change. Run with -benchtime=2000x for ≥1000 samples.
func BenchmarkNotifyToState(b *testing.B) {
	listen := freeUDP(b)
	cfg := unsolicitedConfig(b, listen, "desk-1001")
	a, err := agent.New(agent.MustResolve(b, cfg), agent.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-a.Started()
	w := a.Watch(ctx)

	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	go func() { // drain the 200 OKs
		buf := make([]byte, 4096)
		for {
			if _, _, err := conn.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	dst, _ := net.ResolveUDPAddr("udp", listen)
	msg := func(i int, yes bool) []byte {
		body := "Messages-Waiting: no\r\nVoice-Message: 0/1\r\n"
		if yes {
			body = "Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n"
		}
		return []byte(fmt.Sprintf("NOTIFY sip:desk-1001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKbench%d\r\nFrom: <sip:vm@127.0.0.1>;tag=b%d\r\nTo: <sip:desk-1001@127.0.0.1>\r\nCall-ID: bench-%d\r\nCSeq: 1 NOTIFY\r\nMax-Forwards: 70\r\nEvent: message-summary\r\nContent-Type: application/simple-message-summary\r\nContent-Length: %d\r\n\r\n%s",
			listen, conn.LocalAddr(), i, i, i, len(body), body))
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		yes := i%2 == 0
		m := msg(i, yes)
		t0 := time.Now()
		if _, err := conn.WriteTo(m, dst); err != nil {
			b.Fatal(err)
		}
		want := state.WaitingNo
		if yes {
			want = state.WaitingYes
		}
		waitChange(b, w, "desk-1001", want)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatencies(b, lat)
}

// PUBLISH to a real Kamailio → NOTIFY → state change in the agent (the
// baresip comparison figure: median 1.8 ms). -benchtime=1000x.
func BenchmarkKamailioPublishToState(b *testing.B) {
	itest.Require(b, "kamailio", "sqlite3")
	k := kamailiotest.Start(b)
	cfg := kamailioConfig(b, k.Addr, 1, time.Hour)
	a, err := agent.New(agent.MustResolve(b, cfg), agent.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	w := a.Watch(ctx)
	deadline := time.After(10 * time.Second)
	for s := range w {
		if allHealth(state.HealthSubscribed)(s) {
			break
		}
		select {
		case <-deadline:
			b.Fatal("not subscribed")
		default:
		}
	}
	etag, err := k.Publish("1001", "Messages-Waiting: no\r\n", "")
	if err != nil {
		b.Fatal(err)
	}
	waitChange(b, w, "desk-1001", state.WaitingNo)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		yes := i%2 == 0
		body, want := "Messages-Waiting: no\r\nVoice-Message: 0/1\r\n", state.WaitingNo
		if yes {
			body, want = "Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n", state.WaitingYes
		}
		t0 := time.Now()
		// Publish returns after Kamailio's 200; Kamailio sends the NOTIFY
		// as part of handling the PUBLISH, so the clock starts before it.
		e, err := k.Publish("1001", body, etag)
		if err != nil {
			b.Fatal(err)
		}
		if e != "" {
			etag = e
		}
		waitChange(b, w, "desk-1001", want)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatencies(b, lat)
	_ = strings.TrimSpace
}
