package tone

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"
)

// TestChecksumVectors: the four MWI messages and their checksums.
func TestChecksumVectors(t *testing.T) {
	for _, tc := range []struct {
		f    Format
		on   bool
		want []byte
	}{
		{SDMF, true, []byte{0x06, 0x03, 0x42, 0x42, 0x42, 0x31}},
		{SDMF, false, []byte{0x06, 0x03, 0x6F, 0x6F, 0x6F, 0xAA}},
		{MDMF, true, []byte{0x82, 0x03, 0x0B, 0x01, 0xFF, 0x70}},
		{MDMF, false, []byte{0x82, 0x03, 0x0B, 0x01, 0x00, 0x6F}},
	} {
		got := MWIMessage(tc.f, tc.on, MsgOptions{})
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%v on=%v: % X, want % X", tc.f, tc.on, got, tc.want)
		}
	}
}

func TestMessageOptions(t *testing.T) {
	when := time.Date(2026, 3, 7, 9, 5, 0, 0, time.UTC)
	m := MWIMessage(ETSI, true, MsgOptions{Time: when, Count: 3})
	want := []byte{0x82, 0x10, 0x01, 0x08, '0', '3', '0', '7', '0', '9', '0', '5', 0x0B, 0x01, 0xFF, 0x13, 0x01, 0x03}
	want = append(want, Checksum(want))
	if !bytes.Equal(m, want) {
		t.Fatalf("% X\nwant % X", m, want)
	}
	p, n, err := ParseMessage(m)
	if err != nil || n != len(m) {
		t.Fatal(n, err)
	}
	on, ok := p.MWI()
	cnt, _ := p.Count()
	dt, _ := p.DateTime()
	if !on || !ok || cnt != 3 || dt != "03070905" || p.Format() != ETSI {
		t.Errorf("parsed %v", p)
	}
	off := MWIMessage(ETSI, false, MsgOptions{Count: 9})
	p, _, _ = ParseMessage(off)
	if c, _ := p.Count(); c != 0 {
		t.Errorf("off message says %d messages", c)
	}
	big := MWIMessage(ETSI, true, MsgOptions{Count: 1000})
	p, _, _ = ParseMessage(big)
	if c, _ := p.Count(); c != 255 {
		t.Errorf("count 1000 sent as %d, want 255", c)
	}
}

func TestParseMessageErrors(t *testing.T) {
	good := MWIMessage(MDMF, true, MsgOptions{})
	bad := append([]byte(nil), good...)
	bad[len(bad)-1]++
	if _, _, err := ParseMessage(bad); !errors.Is(err, ErrChecksum) {
		t.Errorf("corrupt checksum: %v", err)
	}
	if _, _, err := ParseMessage(good[:4]); !errors.Is(err, ErrShort) {
		t.Errorf("truncated: %v", err)
	}
	overrun := []byte{0x82, 0x03, 0x0B, 0x05, 0xFF}
	overrun = append(overrun, Checksum(overrun))
	if _, _, err := ParseMessage(overrun); err == nil {
		t.Error("parameter overrunning the body accepted")
	}
}

// TestFSKFraming: the transmitted bits are seizure 0101…, 180 marks, the
// bytes 8-N-1 LSB first, trailing marks.
func TestFSKFraming(t *testing.T) {
	msg := []byte{0x82, 0x03}
	m := NewFSKModulator(msg, FSKOptions{})
	var got []int
	for i := 0; i < m.TotalBits(); i++ {
		got = append(got, m.Bit(i))
	}
	var want []int
	for i := 0; i < 300; i++ {
		want = append(want, i%2)
	}
	for i := 0; i < 180; i++ {
		want = append(want, 1)
	}
	// 0x82 = 1000 0010: LSB first 0,1,0,0,0,0,0,1
	want = append(want, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1)
	// 0x03: 1,1,0,0,0,0,0,0
	want = append(want, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1)
	for i := 0; i < 60; i++ {
		want = append(want, 1)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bits\n got %v\nwant %v", got, want)
	}
	o := NewFSKModulator(msg, FSKOptions{SeizureBits: -1, MarkBits: 80, TrailBits: 10})
	if o.TotalBits() != 80+20+10 || o.Bit(0) != 1 {
		t.Errorf("custom framing: %d bits", o.TotalBits())
	}
}

// TestFSKBitFrequencies measures the frequency inside every bit of the
// transmission: mark and space must be the standard's (±10 Hz), so a
// Bell 202 signal cannot pass as V.23 or the other way round.
func TestFSKBitFrequencies(t *testing.T) {
	msg := MWIMessage(ETSI, true, MsgOptions{Count: 2})
	for _, std := range []Standard{Bell202, V23} {
		for _, rate := range []int{8000, 16000, 48000} {
			opt := FSKOptions{Standard: std, Rate: rate, LeadingSilence: 100 * time.Millisecond}
			m := NewFSKModulator(msg, opt)
			pcm := ModulateFSK(msg, opt)
			T := float64(rate) / Baud
			s0 := 0.1 * float64(rate)
			bad := 0
			var worst float64
			for k := 2; k < m.TotalBits()-2; k++ {
				// samples whose neighbours are in the same bit
				a := int(math.Ceil(s0+float64(k)*T)) + 1
				b := int(math.Floor(s0+float64(k+1)*T)) - 1
				if b < a {
					continue
				}
				f := bitFrequency(pcm, rate, a, b)
				want := std.Space()
				if m.Bit(k) == 1 {
					want = std.Mark()
				}
				worst = math.Max(worst, math.Abs(f-want))
				if math.Abs(f-want) > 10 {
					bad++
					if bad < 5 {
						t.Errorf("%v @%d: bit %d (%d) at %.1f Hz, want %.0f", std, rate, k, m.Bit(k), f, want)
					}
				}
			}
			t.Logf("%v @%d Hz: worst bit %.2f Hz off", std, rate, worst)
		}
	}
}

// TestFSKLevelAndSilence: −14 dBm0 by default, the leading silence is
// silent and as long as asked, and the signal has no clicks.
func TestFSKLevelAndSilence(t *testing.T) {
	msg := MWIMessage(SDMF, true, MsgOptions{})
	pcm := ModulateFSK(msg, FSKOptions{LeadingSilence: 250 * time.Millisecond})
	for i := 0; i < 2000; i++ {
		if pcm[i] != 0 {
			t.Fatalf("sample %d of the silence is %d", i, pcm[i])
		}
	}
	if pcm[2000] != 0 || pcm[2001] == 0 {
		t.Errorf("signal does not start right after 250 ms: %v", pcm[1998:2004])
	}
	// the mark period (bits 300..480) is a steady 1200 Hz sine
	a, b := 2000+300*8000/1200+20, 2000+480*8000/1200-20
	lvl := LevelOf(amplitudeAt(pcm[a:b], 8000, 1200))
	if math.Abs(lvl-DefaultFSKLevel) > 0.5 {
		t.Errorf("mark level %.2f dBm0, want %v", lvl, DefaultFSKLevel)
	}
	pcm = ModulateFSK(msg, FSKOptions{LevelDBm0: -20, Standard: V23})
	lvl = LevelOf(amplitudeAt(pcm[a-2000:b-2000], 8000, 1300))
	if math.Abs(lvl+20) > 0.5 {
		t.Errorf("mark level %.2f dBm0, want -20", lvl)
	}
	// continuous phase: no step larger than the space tone's slope allows
	bound := Amplitude(-14)*2*math.Pi*2200/8000 + 2
	pcm = ModulateFSK(msg, FSKOptions{})
	for i := 1; i < len(pcm); i++ {
		if d := math.Abs(float64(pcm[i]) - float64(pcm[i-1])); d > bound {
			t.Fatalf("phase jump at sample %d: step %.0f > %.0f", i, d, bound)
		}
	}
}

// TestDemodRoundTrip: every message kind, both standards, every rate.
func TestDemodRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 22, 17, 45, 0, 0, time.UTC)
	for _, f := range []Format{SDMF, MDMF, ETSI} {
		for _, on := range []bool{true, false} {
			for _, mo := range []MsgOptions{{}, {Time: when, Count: 7}} {
				msg := MWIMessage(f, on, mo)
				for _, std := range []Standard{Bell202, V23} {
					for _, rate := range []int{8000, 16000, 48000} {
						pcm := ModulateFSK(msg, FSKOptions{Standard: std, Rate: rate, LeadingSilence: 200 * time.Millisecond})
						d, err := DecodeMWI(pcm, rate)
						if err != nil {
							t.Errorf("%v on=%v %v @%d: %v", f, on, std, rate, err)
							continue
						}
						gotOn, ok := d.Message.MWI()
						if !bytes.Equal(d.Message.Raw, msg) || !ok || gotOn != on || d.Demodulated.Standard != std {
							t.Errorf("%v on=%v %v @%d: decoded %v as %v", f, on, std, rate, d.Message, d.Demodulated.Standard)
						}
						if math.Abs(d.Demodulated.MarkHz-std.Mark()) > 10 || math.Abs(d.Demodulated.SpaceHz-std.Space()) > 10 {
							t.Errorf("%v @%d: measured mark %.0f space %.0f", std, rate, d.Demodulated.MarkHz, d.Demodulated.SpaceHz)
						}
						if (d.Demodulated.Start - 200*time.Millisecond).Abs() > time.Millisecond {
							t.Errorf("start %v, want 200ms", d.Demodulated.Start)
						}
					}
				}
			}
		}
	}
}

// TestDemodProperty: random MDMF messages with random parameters survive
// modulation and demodulation byte for byte; with one byte changed, the
// checksum rejects them.
func TestDemodProperty(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 60; i++ {
		var body []byte
		for n := rng.Intn(4) + 1; n > 0; n-- {
			l := rng.Intn(12)
			body = append(body, byte(rng.Intn(256)), byte(l))
			for j := 0; j < l; j++ {
				body = append(body, byte(rng.Intn(256)))
			}
		}
		msg := append([]byte{TypeMDMFMWI, byte(len(body))}, body...)
		msg = append(msg, Checksum(msg))
		std := Standard(rng.Intn(2))
		rate := []int{8000, 16000, 48000}[rng.Intn(3)]
		opt := FSKOptions{Standard: std, Rate: rate, LevelDBm0: -float64(5 + rng.Intn(30)), MarkBits: 80 + rng.Intn(200), LeadingSilence: time.Duration(rng.Intn(300)) * time.Millisecond}
		pcm := ModulateFSK(msg, opt)
		d := Demodulate(pcm, rate, std)
		m, err := FindMessage(d.Bytes)
		if err != nil || !bytes.Equal(m.Raw, msg) {
			t.Errorf("case %d (%v @%d, %+v): sent % X, decoded % X (%v)", i, std, rate, opt, msg, d.Bytes, err)
			continue
		}
		if len(m.Params) == 0 {
			t.Errorf("case %d: no parameters parsed", i)
		}
		bad := append([]byte(nil), msg...)
		bad[2+rng.Intn(len(bad)-2)] ^= byte(1 + rng.Intn(255))
		d = Demodulate(ModulateFSK(bad, opt), rate, std)
		if _, err := FindMessage(d.Bytes); err == nil {
			t.Errorf("case %d: corrupted message % X accepted", i, bad)
		}
	}
}

func TestParseNames(t *testing.T) {
	for _, s := range []string{"sdmf", "MDMF", "etsi"} {
		if _, err := ParseFormat(s); err != nil {
			t.Error(err)
		}
	}
	for _, s := range []string{"bell202", "v23", "V.23"} {
		if _, err := ParseStandard(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseFormat("adsi"); err == nil {
		t.Error("adsi accepted")
	}
	if _, err := ParseStandard("v21"); err == nil {
		t.Error("v21 accepted")
	}
	for _, a := range []Alert{AlertNone, AlertLineReversal, AlertDTAS, AlertRingPulse} {
		if b, err := ParseAlert(a.String()); err != nil || b != a {
			t.Errorf("%v: %v %v", a, b, err)
		}
	}
}

func ExampleModulateFSK() {
	msg := MWIMessage(MDMF, true, MsgOptions{})
	pcm := ModulateFSK(msg, FSKOptions{Standard: Bell202, Rate: 8000})
	d, err := DecodeMWI(pcm, 8000)
	fmt.Printf("% X\n%v %v\n", msg, d.Message, err)
	// Output:
	// 82 03 0B 01 FF 70
	// mdmf message waiting on (82 03 0b 01 ff 70) <nil>
}
