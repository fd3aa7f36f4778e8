package tone

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Standard is an FSK modem standard for on-hook data.
type Standard int

const (
	// Bell202 is Bellcore's 1200 baud FSK: mark 1200 Hz, space 2200 Hz.
	Bell202 Standard = iota
	// V23 is ITU-T V.23 (ETSI): 1200 baud, mark 1300 Hz, space 2100 Hz.
	V23
)

// Baud is the signalling rate of both standards.
const Baud = 1200

// Default framing, in bits.
const (
	DefaultSeizureBits = 300 // alternating 0101…, starting with 0 (30 × 0x55)
	DefaultMarkBits    = 180 // Bellcore; ETSI allows 180 ± 25
	DefaultTrailBits   = 60  // about 50 ms, as Asterisk sends
)

func (s Standard) String() string {
	switch s {
	case Bell202:
		return "bell202"
	case V23:
		return "v23"
	}
	return fmt.Sprintf("Standard(%d)", int(s))
}

// Mark and Space are the standard's frequencies in Hz (binary 1 and 0).
func (s Standard) Mark() float64 {
	if s == V23 {
		return 1300
	}
	return 1200
}

// Space is the frequency of a binary 0 in Hz.
func (s Standard) Space() float64 {
	if s == V23 {
		return 2100
	}
	return 2200
}

// ParseStandard reads "bell202" or "v23" (as in the fxs.fsk_standard
// setting; "v.23" is accepted too).
func ParseStandard(s string) (Standard, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "bell202", "bell-202", "bell":
		return Bell202, nil
	case "v23", "v.23":
		return V23, nil
	}
	return 0, fmt.Errorf("tone: unknown FSK standard %q (want bell202 or v23)", s)
}

// FSKOptions configure the modulator. The zero value is Bell 202 at
// 8000 Hz, −14 dBm0, 300 seizure bits, 180 mark bits, 60 trailing mark
// bits and no leading silence.
type FSKOptions struct {
	Standard  Standard
	Rate      int     // Hz; 0 = 8000
	LevelDBm0 float64 // dBm0; 0 = DefaultFSKLevel (−14)
	// SeizureBits, MarkBits and TrailBits: 0 selects the default, a
	// negative value sends none.
	SeizureBits, MarkBits, TrailBits int
	// LeadingSilence is sent before the seizure (Asterisk sends 500 ms
	// when it has no alerting signal to wait for).
	LeadingSilence time.Duration
}

func orDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// FSKModulator streams a framed message as phase-continuous FSK. Read
// never allocates.
type FSKModulator struct {
	msg                      []byte
	rate                     int
	amp                      float64
	mark, space              float64 // radians per second
	silence                  int     // samples
	seizure, markBits, trail int
	totalBits                int
	fskSamples               int // samples of FSK after the silence
	ramp                     int
	n                        int // next sample index (0 = first sample of FSK)
	phase                    float64
}

// NewFSKModulator prepares msg (a complete message, checksum included).
func NewFSKModulator(msg []byte, opt FSKOptions) *FSKModulator {
	m := &FSKModulator{msg: append([]byte(nil), msg...)}
	m.rate = opt.Rate
	if m.rate <= 0 {
		m.rate = DefaultSampleRate
	}
	lvl := opt.LevelDBm0
	if lvl == 0 {
		lvl = DefaultFSKLevel
	}
	m.amp = Amplitude(lvl)
	m.mark = 2 * math.Pi * opt.Standard.Mark()
	m.space = 2 * math.Pi * opt.Standard.Space()
	m.silence = int(opt.LeadingSilence.Seconds()*float64(m.rate) + 0.5)
	m.seizure = orDefault(opt.SeizureBits, DefaultSeizureBits)
	m.markBits = orDefault(opt.MarkBits, DefaultMarkBits)
	m.trail = orDefault(opt.TrailBits, DefaultTrailBits)
	m.totalBits = m.seizure + m.markBits + 10*len(m.msg) + m.trail
	// ceil(totalBits * rate / Baud)
	m.fskSamples = (m.totalBits*m.rate + Baud - 1) / Baud
	m.ramp = m.rate / 1000 // 1 ms
	if m.ramp < 1 {
		m.ramp = 1
	}
	m.n = -m.silence
	return m
}

// Len is the total number of samples the modulator produces.
func (m *FSKModulator) Len() int { return m.silence + m.fskSamples }

// BitStart returns the time of the start of bit i (0 = first seizure bit)
// measured from the first sample, silence included; tests use it to find
// each bit.
func (m *FSKModulator) BitStart(i int) time.Duration {
	return time.Duration(m.silence)*time.Second/time.Duration(m.rate) + time.Duration(i)*time.Second/Baud
}

// Bit returns bit i of the whole transmission: seizure, mark, the message
// bytes framed 8-N-1 LSB first (start 0, stop 1), trailing mark.
func (m *FSKModulator) Bit(i int) int {
	if i < m.seizure {
		return i & 1
	}
	i -= m.seizure
	if i < m.markBits {
		return 1
	}
	i -= m.markBits
	if i < 10*len(m.msg) {
		b, pos := m.msg[i/10], i%10
		switch pos {
		case 0:
			return 0
		case 9:
			return 1
		}
		return int(b>>(pos-1)) & 1
	}
	return 1
}

// TotalBits is the number of bits sent.
func (m *FSKModulator) TotalBits() int { return m.totalBits }

func (m *FSKModulator) omega(bit int) float64 {
	if m.Bit(bit) == 1 {
		return m.mark
	}
	return m.space
}

// Read fills buf; it returns io.EOF once everything has been produced.
func (m *FSKModulator) Read(buf []int16) (int, error) {
	i := 0
	for ; i < len(buf) && m.n < 0; i++ {
		buf[i] = 0
		m.n++
	}
	dt := 1 / float64(m.rate)
	for ; i < len(buf) && m.n < m.fskSamples; i++ {
		n := m.n
		env := 1.0
		if n < m.ramp {
			x := float64(n+1) / float64(m.ramp)
			env = x * x * (3 - 2*x)
		} else if r := m.fskSamples - 1 - n; r < m.ramp {
			x := float64(r) / float64(m.ramp)
			env = x * x * (3 - 2*x)
		}
		buf[i] = toInt16(m.amp * env * math.Sin(m.phase))
		// Integrate the frequency over [n, n+1) exactly, splitting the
		// sample interval at a bit boundary.
		k := n * Baud / m.rate
		k1 := (n + 1) * Baud / m.rate
		if k1 == k || k1 >= m.totalBits {
			m.phase += m.omega(min(k, m.totalBits-1)) * dt
		} else {
			before := float64((k+1)*m.rate-n*Baud) / float64(Baud) // fraction of the interval in bit k
			m.phase += (m.omega(k)*before + m.omega(k1)*(1-before)) * dt
		}
		if m.phase > 2*math.Pi {
			m.phase -= 2 * math.Pi
		}
		m.n++
	}
	if i == 0 && len(buf) > 0 {
		return 0, io.EOF
	}
	return i, nil
}

// ModulateFSK returns the whole transmission for msg as PCM.
func ModulateFSK(msg []byte, opt FSKOptions) []int16 {
	m := NewFSKModulator(msg, opt)
	out := make([]int16, m.Len())
	n, _ := m.Read(out)
	return out[:n]
}
