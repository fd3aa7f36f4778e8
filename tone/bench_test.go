package tone

import (
	"testing"
	"time"
)

// Synthesis speed. Each benchmark reports the real-time factor (seconds
// of audio per second of CPU) and, with -benchmem, allocations per
// buffer (one op = one 20 ms buffer at 8 kHz).
//
//	go test -run '^$' -bench . -benchmem ./tone

func benchPlan(b *testing.B, s string) {
	g := NewGenerator(MustParsePlan(s), Options{Rate: 8000})
	buf := make([]int16, 160)
	g.Read(buf)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := g.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	audio := time.Duration(b.N) * 20 * time.Millisecond
	b.ReportMetric(audio.Seconds()/el.Seconds(), "x_realtime")
}

func BenchmarkDial(b *testing.B) { benchPlan(b, "350+440") }

func BenchmarkStutterUS(b *testing.B) {
	c, _ := LookupCountry("us")
	benchPlan(b, c.Tones[Stutter])
}

// BenchmarkStutterCadence stays in the cadence forever (ramps every 100 ms).
func BenchmarkStutterCadence(b *testing.B) { benchPlan(b, "350+440/100,0/100") }

func BenchmarkModulated(b *testing.B) { benchPlan(b, "400*25/400,0/200,400*25/400,0/2000") }

func BenchmarkFSK(b *testing.B) {
	msg := MWIMessage(MDMF, true, MsgOptions{})
	buf := make([]int16, 160)
	m := NewFSKModulator(msg, FSKOptions{})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := m.Read(buf); err != nil {
			b.StopTimer()
			m = NewFSKModulator(msg, FSKOptions{})
			b.StartTimer()
		}
	}
	el := time.Since(start)
	b.ReportMetric((time.Duration(b.N)*20*time.Millisecond).Seconds()/el.Seconds(), "x_realtime")
}
