package tone

import (
	"io"
	"math"
	"time"
)

// Options configure a Generator.
type Options struct {
	// Rate is the sample rate in Hz: 8000 (default, what SLICs and
	// telephony codecs use), 16000 or 48000. Any rate ≥ 4000 works.
	Rate int
	// LevelDBm0 is the level of each frequency in dBm0 (see Amplitude).
	// 0 selects DefaultLevelDBm0 (−13); a plan's "@level" overrides it per
	// component.
	LevelDBm0 float64
	// Ramp is the length of the raised ramp at every on/off edge, so that
	// cadences do not click. 0 selects 2 ms; negative disables ramps.
	// A component ramps up from the start of its segment and down from the
	// end of it, so the half-amplitude points fall Ramp/2 after each edge
	// and every on and off time keeps its nominal length.
	Ramp time.Duration
}

func (o Options) rate() int {
	if o.Rate <= 0 {
		return DefaultSampleRate
	}
	return o.Rate
}

func (o Options) level() float64 {
	if o.LevelDBm0 == 0 {
		return DefaultLevelDBm0
	}
	return o.LevelDBm0
}

func (o Options) rampSamples() int {
	switch {
	case o.Ramp < 0:
		return 1
	case o.Ramp == 0:
		return o.rate() * 2 / 1000
	}
	n := int(o.Ramp.Seconds()*float64(o.rate()) + 0.5)
	if n < 1 {
		n = 1
	}
	return n
}

const (
	maxVoices = 6   // two sounding, two fading, spare
	chunk     = 256 // samples mixed at a time in float64
)

// voice is one sounding component: a sine (or a modulated sine) with its
// own phase and envelope, so that components shared by consecutive
// segments continue without a phase jump and the others fade.
type voice struct {
	active bool
	up     bool // ramping towards (or at) full level
	f1, f2 float64
	mod    bool
	amp    float64
	g      float64 // envelope position 0..1 (shaped by smoothstep)
	// carrier phasor (c, s) and its per-sample rotation
	c, s, cw, sw float64
	// modulator phasor
	mc, ms, mcw, msw float64
}

// Generator streams a Plan as 16-bit signed mono PCM. Read never allocates;
// a continuous plan never ends, a finite plan (every element marked "!")
// returns io.EOF after its last segment and a ramp's length of fade-out.
// A Generator is not safe for concurrent use.
type Generator struct {
	plan     Plan
	rate     int
	level    float64
	step     float64 // envelope step per sample
	tail     int     // samples of fade-out after a finite plan
	seg      int     // current segment, len(plan.Segments) during the tail
	left     int64   // samples left in the current segment, -1 = forever
	eof      bool
	voices   [maxVoices]voice
	mix      [chunk]float64
	produced int64
}

// NewGenerator returns a generator positioned at the start of p.
func NewGenerator(p Plan, opt Options) *Generator {
	g := &Generator{
		plan:  p,
		rate:  opt.rate(),
		level: opt.level(),
	}
	n := opt.rampSamples()
	g.step = 1 / float64(n)
	g.tail = n
	g.Reset()
	return g
}

// Rate is the generator's sample rate in Hz.
func (g *Generator) Rate() int { return g.rate }

// Elapsed is the audio time produced since the start (or Reset).
func (g *Generator) Elapsed() time.Duration {
	return time.Duration(g.produced) * time.Second / time.Duration(g.rate)
}

// Reset restarts the plan from its first segment, in silence.
func (g *Generator) Reset() {
	g.voices = [maxVoices]voice{}
	g.eof = false
	g.produced = 0
	g.seg = 0
	if len(g.plan.Segments) == 0 {
		g.eof = true
		return
	}
	g.enter(0)
}

// enter starts segment i (or the fade-out tail when i == len(Segments)).
func (g *Generator) enter(i int) {
	g.seg = i
	for k := range g.voices {
		g.voices[k].up = false
	}
	if i >= len(g.plan.Segments) {
		g.left = int64(g.tail)
		return
	}
	s := g.plan.Segments[i]
	if s.Duration == 0 {
		g.left = -1
	} else {
		g.left = int64(s.Duration.Seconds()*float64(g.rate) + 0.5)
		if g.left < 1 {
			g.left = 1
		}
	}
	nyq := float64(g.rate) / 2
	lvl := func(l float64) float64 {
		if math.IsNaN(l) {
			return g.level
		}
		return l
	}
	switch {
	case s.Modulate:
		if s.F1+s.F2 < nyq {
			g.start(s.F1, s.F2, true, Amplitude(lvl(s.Level1)))
		}
	default:
		if s.F1 > 0 && s.F1 < nyq {
			g.start(s.F1, 0, false, Amplitude(lvl(s.Level1)))
		}
		if s.F2 > 0 && s.F2 < nyq {
			g.start(s.F2, 0, false, Amplitude(lvl(s.Level2)))
		}
	}
}

// start makes a component sound: it continues a voice already playing (or
// fading) the same component, or takes a free one, or the quietest fading
// one.
func (g *Generator) start(f1, f2 float64, mod bool, amp float64) {
	free, quiet := -1, -1
	for k := range g.voices {
		v := &g.voices[k]
		if v.active && v.f1 == f1 && v.f2 == f2 && v.mod == mod && v.amp == amp {
			v.up = true
			return
		}
		if !v.active && free < 0 {
			free = k
		}
		if v.active && !v.up && (quiet < 0 || v.g < g.voices[quiet].g) {
			quiet = k
		}
	}
	if free < 0 {
		free = quiet
	}
	if free < 0 {
		return // cannot happen: at most two components are up at a time
	}
	w := 2 * math.Pi * f1 / float64(g.rate)
	mw := 2 * math.Pi * f2 / float64(g.rate)
	g.voices[free] = voice{
		active: true, up: true, f1: f1, f2: f2, mod: mod, amp: amp,
		c: 1, cw: math.Cos(w), sw: math.Sin(w),
		mc: 1, mcw: math.Cos(mw), msw: math.Sin(mw),
	}
}

// advance moves past the finished segment.
func (g *Generator) advance() {
	if g.seg >= len(g.plan.Segments) { // tail done
		g.eof = true
		return
	}
	next := g.seg + 1
	if next == len(g.plan.Segments) && g.plan.Loop >= 0 {
		next = g.plan.Loop
	}
	g.enter(next)
}

// Read fills buf with the next samples. It returns len(buf), nil until a
// finite plan ends; then the samples up to the end, and 0, io.EOF on the
// following call.
func (g *Generator) Read(buf []int16) (int, error) {
	i := 0
	for i < len(buf) {
		if g.eof {
			if i == 0 {
				return 0, io.EOF
			}
			return i, nil
		}
		n := len(buf) - i
		if n > chunk {
			n = chunk
		}
		if g.left >= 0 && int64(n) > g.left {
			n = int(g.left)
		}
		g.render(buf[i : i+n])
		i += n
		g.produced += int64(n)
		if g.left >= 0 {
			g.left -= int64(n)
			if g.left == 0 {
				g.advance()
			}
		}
	}
	return i, nil
}

// render mixes every active voice into out (len(out) ≤ chunk).
func (g *Generator) render(out []int16) {
	mix := g.mix[:len(out)]
	for k := range mix {
		mix[k] = 0
	}
	for k := range g.voices {
		v := &g.voices[k]
		if v.active {
			g.renderVoice(v, mix)
		}
	}
	for k, x := range mix {
		out[k] = toInt16(x)
	}
}

func (g *Generator) renderVoice(v *voice, mix []float64) {
	c, s, cw, sw := v.c, v.s, v.cw, v.sw
	mc, ms, mcw, msw := v.mc, v.ms, v.mcw, v.msw
	amp := v.amp
	steady := v.up && v.g >= 1
	switch {
	case steady && !v.mod:
		for k := range mix {
			mix[k] += amp * s
			c, s = c*cw-s*sw, s*cw+c*sw
		}
	case steady && v.mod:
		for k := range mix {
			mix[k] += amp * s * (1 + AMDepth*ms)
			c, s = c*cw-s*sw, s*cw+c*sw
			mc, ms = mc*mcw-ms*msw, ms*mcw+mc*msw
		}
	default:
		gpos, step := v.g, g.step
		if !v.up {
			step = -step
		}
		for k := range mix {
			gpos += step
			if gpos >= 1 {
				gpos = 1
			} else if gpos <= 0 {
				gpos = 0
			}
			env := gpos * gpos * (3 - 2*gpos)
			x := amp * env * s
			if v.mod {
				x *= 1 + AMDepth*ms
				mc, ms = mc*mcw-ms*msw, ms*mcw+mc*msw
			}
			mix[k] += x
			c, s = c*cw-s*sw, s*cw+c*sw
		}
		v.g = gpos
		if gpos == 0 && !v.up {
			v.active = false
		}
	}
	// Keep the phasors on the unit circle (first-order correction).
	k := (3 - (c*c + s*s)) / 2
	v.c, v.s = c*k, s*k
	k = (3 - (mc*mc + ms*ms)) / 2
	v.mc, v.ms = mc*k, ms*k
}

func toInt16(x float64) int16 {
	if x >= 0 {
		x += 0.5
		if x >= 32767 {
			return 32767
		}
	} else {
		x -= 0.5
		if x <= -32768 {
			return -32768
		}
	}
	return int16(x)
}

// Render returns d of the plan as PCM (shorter if the plan ends first).
// It allocates; use a Generator to stream.
func Render(p Plan, opt Options, d time.Duration) []int16 {
	g := NewGenerator(p, opt)
	n := int(d.Seconds()*float64(g.rate) + 0.5)
	buf := make([]int16, n)
	got := 0
	for got < n {
		m, err := g.Read(buf[got:])
		got += m
		if err != nil {
			break
		}
	}
	return buf[:got]
}
