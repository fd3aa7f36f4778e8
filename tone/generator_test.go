package tone

import (
	"fmt"
	"io"
	"math"
	"testing"
	"time"
)

// component is one frequency a segment sounds, with its level.
type component struct {
	f     float64
	level float64 // dBm0
}

// components lists what a segment sounds: its frequencies, and for f1*f2
// the carrier and both sidebands (6.9 dB down at 90 % depth).
func components(s Segment, def float64) []component {
	lv := func(l float64) float64 {
		if math.IsNaN(l) {
			return def
		}
		return l
	}
	switch {
	case s.Silent():
		return nil
	case s.Modulate:
		side := lv(s.Level1) + 20*math.Log10(AMDepth/2)
		return []component{{s.F1, lv(s.Level1)}, {s.F1 - s.F2, side}, {s.F1 + s.F2, side}}
	case s.F2 != 0:
		return []component{{s.F1, lv(s.Level1)}, {s.F2, lv(s.Level2)}}
	}
	return []component{{s.F1, lv(s.Level1)}}
}

// schedule walks a plan in time up to total and returns each segment's
// start time and index.
type slot struct {
	start, end time.Duration
	seg        int
}

func schedule(p Plan, total time.Duration) []slot {
	var out []slot
	t := time.Duration(0)
	i := 0
	for t < total && i < len(p.Segments) {
		s := p.Segments[i]
		end := total
		if s.Duration > 0 && t+s.Duration < total {
			end = t + s.Duration
		}
		out = append(out, slot{t, end, i})
		t = end
		i++
		if i == len(p.Segments) {
			if p.Loop < 0 {
				break
			}
			i = p.Loop
		}
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

type namedPlan struct {
	name string
	plan Plan
}

func allTablePlans(t *testing.T) []namedPlan {
	t.Helper()
	var out []namedPlan
	for _, c := range Countries() {
		for _, n := range ToneNames() {
			p, err := c.Plan(n)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, namedPlan{c.Code + "/" + n, p})
		}
	}
	return out
}

// TestSpectrum checks, for every tone of every country, each distinct
// sound it makes: every expected frequency at its level (±1 dB), and no
// other frequency above −40 dB relative to the tone level.
func TestSpectrum(t *testing.T) {
	rates := map[string][]int{"us/stutter": {8000, 16000, 48000}, "de/dial": {8000, 16000, 48000}, "uk/stutter": {8000, 16000, 48000}, "in/ring": {8000, 16000, 48000}}
	for _, np := range allTablePlans(t) {
		rs := rates[np.name]
		if rs == nil {
			rs = []int{8000}
		}
		for _, rate := range rs {
			checkSpectrum(t, np.name, np.plan, Options{Rate: rate})
		}
	}
	// Levels: the option and the @ extension.
	checkSpectrum(t, "custom", MustParsePlan("350@-19+440@-25/300,0/100,1000"), Options{Rate: 8000, LevelDBm0: -6})
}

func checkSpectrum(t *testing.T, name string, p Plan, opt Options) {
	t.Helper()
	rate := opt.rate()
	def := opt.level()
	// the longest occurrence of each distinct sound in the first 8 s
	type occ struct {
		start, dur time.Duration
		seg        Segment
	}
	best := map[string]occ{}
	for _, sl := range schedule(p, 8*time.Second) {
		s := p.Segments[sl.seg]
		if s.Silent() {
			continue
		}
		key := Segment{F1: s.F1, F2: s.F2, Modulate: s.Modulate, Level1: s.Level1, Level2: s.Level2}.String()
		if o, ok := best[key]; !ok || sl.end-sl.start > o.dur {
			best[key] = occ{sl.start, sl.end - sl.start, s}
		}
	}
	if len(best) == 0 {
		t.Fatalf("%s: plan never sounds", name)
	}
	end := time.Duration(0)
	for _, o := range best {
		if e := o.start + o.dur; e > end {
			end = e
		}
	}
	pcm := Render(p, opt, end)
	sampleAt := func(d time.Duration) int { return int(d.Seconds() * float64(rate)) }
	for key, o := range best {
		a := sampleAt(o.start + 3*time.Millisecond) // past the ramps
		b := sampleAt(o.start + o.dur)
		if b-a > rate {
			b = a + rate
		}
		x := pcm[a:b]
		comps := components(o.seg, def)
		for _, c := range comps {
			got := LevelOf(amplitudeAt(x, rate, c.f))
			if math.Abs(got-c.level) > 1 {
				t.Errorf("%s @%d Hz, %s: %g Hz at %.2f dBm0, want %.2f ±1", name, rate, key, c.f, got, c.level)
			}
		}
		// Everything else: FFT of the largest power-of-two window.
		n := pow2Below(len(x))
		amps, binHz := spectrum(x[:n], rate)
		limit := Amplitude(def - 40)
		guard := 4*binHz + 3
		for k, amp := range amps {
			f := float64(k) * binHz
			near := f < guard // DC
			for _, c := range comps {
				if math.Abs(f-c.f) <= guard {
					near = true
				}
			}
			if !near && amp > limit {
				t.Errorf("%s @%d Hz, %s: unexpected %.0f Hz at %.1f dB relative to the tone level", name, rate, key, f, LevelOf(amp)-def)
				break
			}
		}
	}
}

// TestCadence measures, for every tone of every country, each frequency's
// 10 ms envelope (complex demodulation with a box window; where two
// frequencies are closer than 100 Hz the box is lengthened to the beat
// period so it cannot see the other one) and checks that every on and off
// interval starts and ends within ±2 ms of the plan.
func TestCadence(t *testing.T) {
	const rate = 8000
	ramp := 2 * time.Millisecond
	checked, skipped := 0, 0
	for _, np := range allTablePlans(t) {
		p := np.plan
		pass, finite := p.Duration()
		total := 7 * time.Second
		if finite && pass+time.Second < total {
			total = pass + time.Second
		}
		if !finite {
			// a continuous element: the first pass up to it, plus a second
			var d time.Duration
			for _, s := range p.Segments {
				d += s.Duration
			}
			if d+time.Second < total {
				total = d + time.Second
			}
		}
		pcm := Render(p, Options{Rate: rate}, total)
		sched := schedule(p, total)
		// carrier frequencies of the plan
		freqs := map[float64]float64{}
		for _, s := range p.Segments {
			for i, c := range components(s, DefaultLevelDBm0) {
				if i == 0 || !s.Modulate {
					freqs[c.f] = c.level
				}
			}
		}
		// sounding lists the frequencies (sidebands included) of the
		// segments that overlap [a, b).
		sounding := func(a, b time.Duration) map[float64]bool {
			out := map[float64]bool{}
			for _, sl := range sched {
				if sl.start < b && sl.end > a {
					for _, c := range components(p.Segments[sl.seg], 0) {
						out[c.f] = true
					}
				}
			}
			return out
		}
		for f, level := range freqs {
			var want []interval
			has := func(s Segment) bool {
				for i, c := range components(s, DefaultLevelDBm0) {
					if c.f == f && (i == 0 || !s.Modulate) {
						return true
					}
				}
				return false
			}
			for _, sl := range sched {
				if !has(p.Segments[sl.seg]) {
					continue
				}
				if n := len(want); n > 0 && want[n-1].End == sl.start {
					want[n-1].End = sl.end
				} else {
					want = append(want, interval{sl.start, sl.end})
				}
			}
			// The box window is an even multiple of 1/gcd(differences) to
			// every other frequency sounding within a window of f's
			// intervals, so that at the half-overlap point of an edge each
			// of them sums to zero.
			w := 10 * time.Millisecond
			for iter := 0; iter < 10; iter++ {
				g := 0
				for _, iv := range want {
					for o := range sounding(iv.Start-w, iv.End+w) {
						if o != f {
							g = gcd(g, int(math.Abs(o-f)+0.5))
						}
					}
				}
				nw := 10 * time.Millisecond
				if g > 0 {
					k := int(math.Ceil(0.010 * float64(g) / 2))
					nw = max(nw, time.Duration(2*k)*time.Second/time.Duration(g))
				}
				if nw == w {
					break
				}
				w = nw
			}
			lo, hi := w+5*time.Millisecond, total-w-5*time.Millisecond
			var inside []interval
			shortest := time.Hour
			for i, iv := range want {
				if iv.Start >= lo && iv.End <= hi {
					iv.Start += ramp / 2
					iv.End += ramp / 2
					inside = append(inside, iv)
					shortest = min(shortest, iv.End-iv.Start)
					if i > 0 {
						shortest = min(shortest, iv.Start-ramp/2-want[i-1].End)
					}
				}
			}
			if len(inside) == 0 {
				continue
			}
			if 2*shortest <= w {
				t.Logf("%s: %g Hz: not checked: intervals of %v are too short for the %v envelope that separates its frequencies", np.name, f, shortest, w)
				skipped++
				continue
			}
			env := componentEnvelope(pcm, rate, f, int(w.Seconds()*rate+0.5))
			got := onIntervals(env, rate, Amplitude(level)/2)
			used := make([]bool, len(got))
			for _, iv := range inside {
				found := false
				for j, m := range got {
					if m.Start < iv.End && m.End > iv.Start {
						used[j], found = true, true
						ds, de := m.Start-iv.Start, m.End-iv.End
						if ds.Abs() > 2*time.Millisecond || de.Abs() > 2*time.Millisecond {
							t.Errorf("%s: %g Hz (envelope %v): on %v–%v, want %v–%v ±2ms", np.name, f, w, m.Start, m.End, iv.Start, iv.End)
						}
						break
					}
				}
				if !found {
					t.Errorf("%s: %g Hz: no tone during %v–%v", np.name, f, iv.Start, iv.End)
				}
				checked++
			}
			// A frequency close to f sounding elsewhere in the plan (au
			// congestion: 420 and 425 Hz) is f to a short envelope.
			closeBy := func(m interval) bool {
				for o := range sounding(m.Start-w, m.End+w) {
					if o != f && math.Abs(o-f) < 60 {
						return true
					}
				}
				return false
			}
			for j, m := range got {
				if !used[j] && m.Start >= lo && m.End <= hi && !closeBy(m) {
					t.Errorf("%s: %g Hz (envelope %v): unexpected tone %v–%v; want %v", np.name, f, w, m.Start, m.End, inside)
				}
			}
		}
	}
	t.Logf("checked %d on intervals; %d components not checkable", checked, skipped)
}

// TestUSStutter: 10 bursts of 100 ms on / 100 ms off, then steady dial tone.
func TestUSStutter(t *testing.T) {
	c, err := LookupCountry("us")
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Plan(Stutter)
	if err != nil {
		t.Fatal(err)
	}
	const rate = 8000
	// 100 ms of silence first, so the first burst has a measurable start.
	pcm := Render(MustParsePlan("!0/100,"+p.String()), Options{Rate: rate}, 6*time.Second)
	// 350 and 440 are 90 Hz apart: a box of 2/90 s hides one from the
	// other, also at the half-overlap point of an edge.
	env := componentEnvelope(pcm, rate, 440, 2*rate/90)
	got := onIntervals(env, rate, Amplitude(DefaultLevelDBm0)/2)
	if len(got) != 10 {
		t.Fatalf("%d bursts, want 10 then steady: %v", len(got), got)
	}
	for i, iv := range got {
		wantStart := time.Duration(100+200*i)*time.Millisecond + time.Millisecond // + half the ramp
		if (iv.Start-wantStart).Abs() > 2*time.Millisecond || (iv.End-iv.Start-100*time.Millisecond).Abs() > 2*time.Millisecond {
			t.Errorf("burst %d: %v–%v, want %v + 100ms", i+1, iv.Start, iv.End, wantStart)
		}
	}
	// steady from 2.1 s on
	for i := 2100*rate/1000 + rate/50; i < len(env)-rate/50; i++ {
		if env[i] < 0.9*Amplitude(DefaultLevelDBm0) {
			t.Fatalf("not steady at %v: 440 Hz amplitude %.0f", time.Duration(i)*time.Second/rate, env[i])
		}
	}
}

// maxStep is the largest sample-to-sample change a tone can make without a
// click: the steepest slope of its components, plus the ramps' slope.
func maxStep(p Plan, opt Options) float64 {
	rate := float64(opt.rate())
	rampN := float64(opt.rampSamples())
	var worst float64
	for i, s := range p.Segments {
		prev := p.Segments[(i+len(p.Segments)-1)%len(p.Segments)]
		var b float64
		for _, seg := range []Segment{s, prev} {
			for _, c := range components(seg, opt.level()) {
				a := Amplitude(c.level)
				b += a*2*math.Pi*c.f/rate + a*1.5/rampN
			}
		}
		worst = math.Max(worst, b)
	}
	return worst + 2
}

// TestNoClicks: no sample jumps further than the tones themselves can move,
// across every segment join of every tone; a hard on/off switch would.
func TestNoClicks(t *testing.T) {
	for _, np := range allTablePlans(t) {
		for _, rate := range []int{8000, 48000} {
			opt := Options{Rate: rate}
			pcm := Render(np.plan, opt, 3*time.Second)
			bound := maxStep(np.plan, opt)
			for i := 1; i < len(pcm); i++ {
				if d := math.Abs(float64(pcm[i]) - float64(pcm[i-1])); d > bound {
					t.Errorf("%s @%d: step of %.0f at %v, bound %.0f", np.name, rate, d, time.Duration(i)*time.Second/time.Duration(rate), bound)
					break
				}
			}
		}
	}
	// The check does catch clicks: without ramps the stutter clicks.
	// (101 ms is not a whole number of cycles, so the tone stops mid-wave.)
	p := MustParsePlan("350+440/101,0/100")
	pcm := Render(p, Options{Ramp: -1}, time.Second)
	clicked := false
	bound := maxStep(p, Options{})
	for i := 1; i < len(pcm); i++ {
		if math.Abs(float64(pcm[i])-float64(pcm[i-1])) > bound {
			clicked = true
		}
	}
	if !clicked {
		t.Error("the click check did not notice hard edges")
	}
}

// TestPhaseContinuous: a component that continues from one segment into the
// next is the same sine wave, sample for sample.
func TestPhaseContinuous(t *testing.T) {
	for _, tc := range [][2]string{
		{"!350+440/100,350+440", "350+440"},
		{"425/330,425/660", "425"},
		{"!400*25/130,400*25", "400*25"},
	} {
		a := Render(MustParsePlan(tc[0]), Options{}, time.Second)
		b := Render(MustParsePlan(tc[1]), Options{}, time.Second)
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%q differs from %q at sample %d: %d vs %d", tc[0], tc[1], i, a[i], b[i])
				break
			}
		}
	}
}

func TestFinitePlanEOF(t *testing.T) {
	p := MustParsePlan("!950/330,!1400/330,!1800/330")
	g := NewGenerator(p, Options{})
	buf := make([]int16, 1000)
	total := 0
	for i := 0; i < 100; i++ {
		n, err := g.Read(buf)
		total += n
		if err == io.EOF {
			if n != 0 {
				t.Errorf("EOF with %d samples", n)
			}
			want := 990*8 + 16 // three segments and the 2 ms fade-out
			if total != want {
				t.Errorf("finite plan gave %d samples, want %d", total, want)
			}
			if g.Elapsed() != 992*time.Millisecond {
				t.Errorf("Elapsed %v", g.Elapsed())
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("no EOF")
}

// TestReadAllocs: a Generator and an FSK modulator never allocate per buffer.
func TestReadAllocs(t *testing.T) {
	buf := make([]int16, 160)
	for _, s := range []string{"350+440", "!350+440/100,!0/100,350+440", "400*25/400,0/200", "350+440/750,440/750"} {
		g := NewGenerator(MustParsePlan(s), Options{})
		if a := testing.AllocsPerRun(500, func() { g.Read(buf) }); a != 0 {
			t.Errorf("%q: %v allocations per Read", s, a)
		}
	}
	m := NewFSKModulator(MWIMessage(MDMF, true, MsgOptions{}), FSKOptions{})
	if a := testing.AllocsPerRun(20, func() { m.Read(buf) }); a != 0 {
		t.Errorf("FSK: %v allocations per Read", a)
	}
}

func TestRates(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		pcm := Render(MustParsePlan("425"), Options{Rate: rate}, time.Second)
		if len(pcm) != rate {
			t.Errorf("%d Hz: %d samples for 1 s", rate, len(pcm))
		}
		// zero crossings of a 425 Hz sine in one second: 850
		z := 0
		for i := 1; i < len(pcm); i++ {
			if (pcm[i-1] < 0) != (pcm[i] < 0) {
				z++
			}
		}
		if z < 848 || z > 852 {
			t.Errorf("%d Hz: %d zero crossings, want 850", rate, z)
		}
	}
}

func ExampleNewGenerator() {
	c, _ := LookupCountry("us")
	p, _ := c.Plan(Stutter)
	g := NewGenerator(p, Options{Rate: 8000, LevelDBm0: -13})
	buf := make([]int16, 160) // 20 ms
	for i := 0; i < 3; i++ {
		n, _ := g.Read(buf) // hand buf[:n] to a Sink
		fmt.Println(n)
	}
	fmt.Println(g.Elapsed())
	// Output:
	// 160
	// 160
	// 160
	// 60ms
}

// TestLevelConvention pins the documented convention: 0 dBm0 is a sine
// 3.14 dB below a full-scale 16-bit sine, so −13 dBm0 has a peak of 5110
// and the FSK default −14 dBm0 a peak of 4554.
func TestLevelConvention(t *testing.T) {
	for _, tc := range []struct{ dbm0, peak float64 }{{0, 22826}, {-13, 5110}, {-14, 4554}, {3.14, 32767}} {
		if got := Amplitude(tc.dbm0); math.Abs(got-tc.peak) > 1 {
			t.Errorf("Amplitude(%g) = %.1f, want %.0f", tc.dbm0, got, tc.peak)
		}
	}
	pcm := Render(MustParsePlan("1000"), Options{}, time.Second)
	peak := 0
	for _, v := range pcm[100:] {
		peak = max(peak, int(v))
	}
	if peak < 5105 || peak > 5111 {
		t.Errorf("1000 Hz at the default level peaks at %d, want 5110", peak)
	}
}
