package tone

// Signal measurements used by the tests. They are written from the
// definitions (DFT, Goertzel, least squares), independent of the code under
// test.

import (
	"math"
	"math/cmplx"
	"time"
)

// hann returns a Hann window of length n and its sum.
func hann(n int) ([]float64, float64) {
	w := make([]float64, n)
	var s float64
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		s += w[i]
	}
	return w, s
}

// amplitudeAt is the peak amplitude of the component of x at f Hz
// (Hann-windowed single-bin DFT evaluated at exactly f, i.e. Goertzel).
func amplitudeAt(x []int16, rate int, f float64) float64 {
	w, sum := hann(len(x))
	var acc complex128
	for n, v := range x {
		ph := -2 * math.Pi * f * float64(n) / float64(rate)
		acc += complex(w[n]*float64(v), 0) * cmplx.Exp(complex(0, ph))
	}
	return 2 * cmplx.Abs(acc) / sum
}

// spectrum is the Hann-windowed amplitude spectrum of x (len a power of
// two): bin k is k·rate/len Hz, value the peak amplitude of a sine there.
func spectrum(x []int16, rate int) (amps []float64, binHz float64) {
	n := len(x)
	w, sum := hann(n)
	a := make([]complex128, n)
	for i, v := range x {
		a[i] = complex(w[i]*float64(v), 0)
	}
	fft(a)
	amps = make([]float64, n/2)
	for k := range amps {
		amps[k] = 2 * cmplx.Abs(a[k]) / sum
	}
	return amps, float64(rate) / float64(n)
}

// fft is an in-place radix-2 Cooley–Tukey transform; len(a) must be a
// power of two.
func fft(a []complex128) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		wn := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			w := complex(1, 0)
			for k := 0; k < size/2; k++ {
				u, v := a[start+k], a[start+k+size/2]*w
				a[start+k], a[start+k+size/2] = u+v, u-v
				w *= wn
			}
		}
	}
}

func pow2Below(n int) int {
	p := 1
	for p*2 <= n {
		p *= 2
	}
	return p
}

// componentEnvelope is the amplitude of the component at f Hz over time:
// complex demodulation followed by a centred box window of w samples
// (a box of length k/Δf has nulls at every frequency Δf·m away).
// env[n] is the estimate for the window centred on sample n.
func componentEnvelope(x []int16, rate int, f float64, w int) []float64 {
	n := len(x)
	re := make([]float64, n+1)
	im := make([]float64, n+1)
	for i, v := range x {
		ph := 2 * math.Pi * f * float64(i) / float64(rate)
		re[i+1] = re[i] + float64(v)*math.Cos(ph)
		im[i+1] = im[i] + float64(v)*math.Sin(ph)
	}
	env := make([]float64, n)
	for i := range env {
		a, b := i-w/2, i-w/2+w
		if a < 0 || b > n {
			env[i] = math.NaN()
			continue
		}
		r, q := re[b]-re[a], im[b]-im[a]
		env[i] = 2 * math.Hypot(r, q) / float64(w)
	}
	return env
}

// interval is [Start, End) in time.
type interval struct{ Start, End time.Duration }

// onIntervals thresholds env at thr with hysteresis (a state changes when
// env passes thr by 20 %) and returns the on intervals; each edge is the
// last crossing of thr itself before the change, interpolated between
// samples. Intervals touching the unknown (NaN) borders are dropped.
func onIntervals(env []float64, rate int, thr float64) []interval {
	var out []interval
	at := func(i int) time.Duration { // crossing between i-1 and i
		a, b := env[i-1]-thr, env[i]-thr
		frac := a / (a - b)
		return time.Duration((float64(i-1) + frac) / float64(rate) * float64(time.Second))
	}
	hi, lo := 1.2*thr, 0.8*thr
	on, valid := false, false
	var start, lastUp, lastDown time.Duration
	for i := 1; i < len(env); i++ {
		if math.IsNaN(env[i-1]) || math.IsNaN(env[i]) {
			on, valid = false, false
			continue
		}
		if env[i-1] <= thr && env[i] > thr {
			lastUp = at(i)
		}
		if env[i-1] > thr && env[i] <= thr {
			lastDown = at(i)
		}
		if !valid {
			valid = true
			on = env[i] > thr
			start = -1 // unknown start
			continue
		}
		switch {
		case !on && env[i] > hi:
			on, start = true, lastUp
		case on && env[i] < lo:
			on = false
			if start >= 0 {
				out = append(out, interval{start, lastDown})
			}
		}
	}
	return out
}

// bitFrequency estimates the frequency of the sinusoid in x[a..b]
// (inclusive, a ≥ 1, b ≤ len−2) by least squares on the identity
// x[n−1] + x[n+1] = 2·cos(ω)·x[n].
func bitFrequency(x []int16, rate, a, b int) float64 {
	var num, den float64
	for i := a; i <= b; i++ {
		v := float64(x[i])
		num += v * (float64(x[i-1]) + float64(x[i+1]))
		den += 2 * v * v
	}
	c := math.Max(-1, math.Min(1, num/den))
	return math.Acos(c) * float64(rate) / (2 * math.Pi)
}
