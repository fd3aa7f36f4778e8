package tone

import (
	"fmt"
	"math"
	"time"
)

// Demodulated is what Demodulate heard.
type Demodulated struct {
	Standard Standard
	// Bytes are every correctly framed 8-N-1 character in order, channel
	// seizure (0x55) included.
	Bytes []byte
	// MarkHz and SpaceHz are the frequencies measured over the bits of
	// the framed characters (0 if none of that kind were seen).
	MarkHz, SpaceHz float64
	// Start is when the first character's start bit began.
	Start time.Duration

	acc  [][2]freqAcc // per byte: mark, space
	rate int
}

// measure sets MarkHz and SpaceHz from the bytes [a, b).
func (d *Demodulated) measure(a, b int) {
	var fm, fs freqAcc
	for _, p := range d.acc[a:b] {
		fm.num += p[0].num
		fm.den += p[0].den
		fs.num += p[1].num
		fs.den += p[1].den
	}
	rate := d.rate
	d.MarkHz, d.SpaceHz = fm.hz(rate), fs.hz(rate)
}

// Demodulate decodes 1200 baud FSK in pcm with a pair of non-coherent
// correlators one bit long and an 8-N-1 UART that samples each bit at the
// end of its correlation window. It is meant for clean signals (tests, WAV
// files, a loopback recording), not for a noisy line.
func Demodulate(pcm []int16, rate int, std Standard) Demodulated {
	if rate <= 0 {
		rate = DefaultSampleRate
	}
	out := Demodulated{Standard: std, rate: rate}
	n := len(pcm)
	T := float64(rate) / Baud // samples per bit
	N := int(T + 0.5)         // correlation window
	if n < 2*N {
		return out
	}
	// Prefix sums of x·cos and x·sin at both frequencies.
	type pre struct{ mc, ms, sc, ss []float64 }
	p := pre{make([]float64, n+1), make([]float64, n+1), make([]float64, n+1), make([]float64, n+1)}
	wm := 2 * math.Pi * std.Mark() / float64(rate)
	ws := 2 * math.Pi * std.Space() / float64(rate)
	for i, v := range pcm {
		x := float64(v)
		p.mc[i+1] = p.mc[i] + x*math.Cos(wm*float64(i))
		p.ms[i+1] = p.ms[i] + x*math.Sin(wm*float64(i))
		p.sc[i+1] = p.sc[i] + x*math.Cos(ws*float64(i))
		p.ss[i+1] = p.ss[i] + x*math.Sin(ws*float64(i))
	}
	// disc returns mark minus space energy and their sum for the window
	// ending at sample e (inclusive).
	disc := func(e int) (float64, float64) {
		if e < N-1 || e >= n {
			return 0, 0
		}
		a, b := e+1-N, e+1
		mc, ms := p.mc[b]-p.mc[a], p.ms[b]-p.ms[a]
		sc, ss := p.sc[b]-p.sc[a], p.ss[b]-p.ss[a]
		m, s := mc*mc+ms*ms, sc*sc+ss*ss
		return m - s, m + s
	}
	// Signal gate: a −50 dBm0 tone filling the window.
	g := float64(N) * Amplitude(-50) / 2
	gate := g * g

	first := true
	for e := N; e < n; e++ {
		d, en := disc(e)
		if d >= 0 || en < gate {
			continue
		}
		if pd, pen := disc(e - 1); pd < 0 && pen >= gate {
			continue // not an edge
		}
		// The window ending at e is mostly space for the first time: the
		// start bit began about half a window earlier.
		start := float64(e) - float64(N)/2 + 0.5
		end := func(k int) int { return int(start+float64(k+1)*T+0.5) - 1 }
		var bits [10]int
		ok := true
		for k := 0; k < 10; k++ {
			dk, ek := disc(end(k))
			if ek < gate {
				ok = false
				break
			}
			if dk > 0 {
				bits[k] = 1
			}
		}
		if !ok || bits[0] != 0 || bits[9] != 1 {
			continue
		}
		var c byte
		for k := 1; k <= 8; k++ {
			c |= byte(bits[k]) << (k - 1)
		}
		out.Bytes = append(out.Bytes, c)
		if first {
			out.Start = time.Duration(start / float64(rate) * float64(time.Second))
			first = false
		}
		var acc [2]freqAcc
		for k := 0; k < 10; k++ {
			b0, b1 := start+float64(k)*T, start+float64(k+1)*T
			acc[1-bits[k]].addBit(pcm, b0, b1)
		}
		out.acc = append(out.acc, acc)
		// Resume at the middle of the stop bit.
		e = int(start + 9.5*T)
	}
	out.measure(0, len(out.Bytes))
	return out
}

// freqAcc estimates the frequency of a sinusoid from the identity
// x[n−1] + x[n+1] = 2·cos(ω)·x[n], in the least-squares sense.
type freqAcc struct{ num, den float64 }

// addBit adds the samples of a bit spanning [b0, b1) (in samples) whose
// neighbours are inside the bit too, leaving a margin of a fifth of the
// bit for timing error (the UART's bit timing is only that good).
func (f *freqAcc) addBit(x []int16, b0, b1 float64) {
	m := 2 + int((b1-b0)/5)
	f.add(x, int(math.Ceil(b0))+m, int(math.Floor(b1))-m)
}

// add adds the triples centred on samples a..b.
func (f *freqAcc) add(x []int16, a, b int) {
	if a < 1 {
		a = 1
	}
	if b > len(x)-2 {
		b = len(x) - 2
	}
	for i := a; i <= b; i++ {
		v := float64(x[i])
		f.num += v * (float64(x[i-1]) + float64(x[i+1]))
		f.den += 2 * v * v
	}
}

func (f *freqAcc) hz(rate int) float64 {
	if f.den == 0 {
		return 0
	}
	c := f.num / f.den
	c = math.Max(-1, math.Min(1, c))
	return math.Acos(c) * float64(rate) / (2 * math.Pi)
}

// Decoded is a message found in audio.
type Decoded struct {
	Message     Message
	Demodulated Demodulated
}

// DecodeMWI demodulates pcm with both standards' correlators and returns
// the first valid message. The standard reported is the one whose mark and
// space frequencies are nearest to those measured.
func DecodeMWI(pcm []int16, rate int) (Decoded, error) {
	var firstErr error
	var found []Decoded
	for _, std := range []Standard{Bell202, V23} {
		d := Demodulate(pcm, rate, std)
		m, at, err := findMessage(d.Bytes)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		// Measure the frequencies over the message and the seizure just
		// before it, not over whatever else was framed (an alerting tone).
		from := at
		for from > 0 && d.Bytes[from-1] == 0x55 {
			from--
		}
		d.measure(from, at+len(m.Raw))
		found = append(found, Decoded{Message: m, Demodulated: d})
	}
	if len(found) == 0 {
		return Decoded{}, fmt.Errorf("tone: no FSK message decoded: %w", firstErr)
	}
	best := found[0]
	dist := func(d Demodulated, s Standard) float64 {
		return math.Abs(d.MarkHz-s.Mark()) + math.Abs(d.SpaceHz-s.Space())
	}
	if dist(best.Demodulated, V23) < dist(best.Demodulated, Bell202) {
		best.Demodulated.Standard = V23
	} else {
		best.Demodulated.Standard = Bell202
	}
	return best, nil
}
