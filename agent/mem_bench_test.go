package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// memSample is what the runtime holds, after a full GC.
type memSample struct {
	heapLive, stacks, other, allocs float64
	goroutines                      float64
}

// peakSampler records the largest heap objects, stacks and goroutine count
// seen every few milliseconds while the accounts start (no GC forced: what
// the process really holds at its peak).
type peakSampler struct {
	stop              chan struct{}
	done              chan struct{}
	heap, stacks, grs uint64
	live              uint64       // the largest live heap a GC cycle ended with
	liveProfile       bytes.Buffer // with MWI_MEM_PROFILE: the heap profile at that cycle
}

func startPeakSampler() *peakSampler {
	p := &peakSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		s := []metrics.Sample{
			{Name: "/memory/classes/heap/objects:bytes"},
			{Name: "/memory/classes/heap/stacks:bytes"},
			{Name: "/sched/goroutines:goroutines"},
			{Name: "/gc/heap/live:bytes"},
		}
		profile := os.Getenv("MWI_MEM_PROFILE") != ""
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			p.heap = max(p.heap, s[0].Value.Uint64())
			p.stacks = max(p.stacks, s[1].Value.Uint64())
			p.grs = max(p.grs, s[2].Value.Uint64())
			if l := s[3].Value.Uint64(); l > p.live {
				p.live = l
				if profile { // what was live then (the profile is as of the last GC)
					p.liveProfile.Reset()
					_ = pprof.Lookup("heap").WriteTo(&p.liveProfile, 0)
				}
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakSampler) end() { close(p.stop); <-p.done }

func readMem() memSample {
	runtime.GC()
	runtime.GC() // finalizers, cleanups of the first
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/memory/classes/other:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}
	metrics.Read(s)
	return memSample{float64(s[0].Value.Uint64()), float64(s[1].Value.Uint64()), float64(s[2].Value.Uint64()),
		float64(s[3].Value.Uint64()), float64(s[4].Value.Uint64())}
}

// What each account costs in the agent process once N accounts are
// registered and subscribed at a real Kamailio (UDP loopback): live heap,
// goroutine stacks and goroutines per account, and what start-up allocated
// per account, measured after a full GC one second after the last
// subscription (sipgo still holds the transactions of the start-up then:
// server transactions for Timer J, 32 s, client ones for Timer K, 5 s).
// The peak-… figures are the largest heap objects, goroutine stacks and
// goroutine count seen during the start-up (sampled every 5 ms, no forced
// GC; the heap then is what the GC let grow, GOGC=100 in a test). The
// process's own RSS is in scripts/load-kamailio.sh; this names where the
// per-account part goes.
//
// peak-live-heap-MB is the largest heap a GC cycle found live during the
// start-up (with MWI_MEM_PROFILE, FILE.N.peak is the heap profile then).
//
// MWI_MEM_QUIET=1 logs only errors (info lines are formatted on the
// account workers' stacks). MWI_MEM_PROFILE=FILE writes a heap profile to FILE.N (go tool pprof
// -sample_index=inuse_space) at the last sample, sampling every KiB. MWI_MEM_SETTLE=40s adds the same figures once the start-up transactions
// have expired (settled-…).
//
//	MWI_INTEGRATION=1 go test ./agent -run - -bench AccountsMemory -benchtime=1x
func BenchmarkKamailioAccountsMemory(b *testing.B) {
	itest.Require(b, "kamailio", "sqlite3")
	settle, _ := time.ParseDuration(os.Getenv("MWI_MEM_SETTLE"))
	if os.Getenv("MWI_MEM_PROFILE") != "" {
		// Sample every 1 KiB allocated (the default, 512 KiB, leaves a
		// few hundred samples for 1,000 accounts: too coarse to name
		// per-account items).
		defer func(r int) { runtime.MemProfileRate = r }(runtime.MemProfileRate)
		runtime.MemProfileRate = 1024
	}
	for _, n := range []int{8, 256, 1000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			k := kamailiotest.Start(b)
			var before, after, settled memSample
			var startup time.Duration
			var peak *peakSampler
			for range b.N {
				cfg := kamailioConfig(b, k.Addr, n, time.Hour)
				before = readMem()
				t0 := time.Now()
				log := testLogger(b)
				if os.Getenv("MWI_MEM_QUIET") != "" { // only errors: what logging costs in stacks
					log = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
				}
				a, err := agent.New(resolve(b, cfg), agent.Options{Logger: log})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				peak = startPeakSampler()
				go func() { done <- a.Run(ctx) }()
				waitSnap(b, a, 60*time.Second, "all subscribed", allHealth(state.HealthSubscribed))
				startup = time.Since(t0)
				time.Sleep(time.Second)
				peak.end()
				after = readMem()
				if settle > 0 {
					time.Sleep(settle)
					settled = readMem()
				}
				if p := os.Getenv("MWI_MEM_PROFILE"); p != "" {
					writeHeapProfile(b, fmt.Sprintf("%s.%d", p, n))
				}
				cancel()
				<-done
			}
			per := func(a, b float64) float64 { return (a - b) / float64(n) }
			b.ReportMetric(per(after.heapLive, before.heapLive), "heap-B/account")
			b.ReportMetric(per(after.stacks, before.stacks), "stack-B/account")
			b.ReportMetric(per(after.goroutines, before.goroutines), "goroutines/account")
			b.ReportMetric(per(after.allocs, before.allocs), "startup-alloc-B/account")
			b.ReportMetric((after.heapLive+after.stacks+after.other)/(1<<20), "heap+stacks+other-MB")
			b.ReportMetric(startup.Seconds(), "subscribed-s")
			b.ReportMetric(float64(peak.heap)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(peak.stacks)/(1<<20), "peak-stacks-MB")
			b.ReportMetric(float64(peak.grs), "peak-goroutines")
			b.ReportMetric(float64(peak.live)/(1<<20), "peak-live-heap-MB")
			if p := os.Getenv("MWI_MEM_PROFILE"); p != "" && peak.liveProfile.Len() > 0 {
				if err := os.WriteFile(fmt.Sprintf("%s.%d.peak", p, n), peak.liveProfile.Bytes(), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			if settle > 0 {
				b.ReportMetric(per(settled.heapLive, before.heapLive), "settled-heap-B/account")
				b.ReportMetric(per(settled.stacks, before.stacks), "settled-stack-B/account")
				b.ReportMetric((settled.heapLive+settled.stacks+settled.other)/(1<<20), "settled-heap+stacks+other-MB")
			}
		})
	}
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
