package tone

import (
	"math"
	"testing"
	"time"
)

// TestDTAS: 2130 + 2750 Hz at the tone level, 100 ms, nothing else.
func TestDTAS(t *testing.T) {
	pcm := DTAS(Options{})
	if d := time.Duration(len(pcm)) * time.Second / 8000; d != 102*time.Millisecond {
		t.Errorf("DT-AS lasts %v, want 100 ms plus the 2 ms fade", d)
	}
	x := pcm[24:800]
	for _, f := range []float64{DTASLow, DTASHigh} {
		if l := LevelOf(amplitudeAt(x, 8000, f)); math.Abs(l-DefaultLevelDBm0) > 1 {
			t.Errorf("%g Hz at %.1f dBm0", f, l)
		}
	}
	if l := LevelOf(amplitudeAt(x, 8000, 1200)); l > DefaultLevelDBm0-40 {
		t.Errorf("1200 Hz at %.1f dBm0", l)
	}
}

func TestAlertSequences(t *testing.T) {
	data := make([]int16, 8000)
	for _, tc := range []struct {
		a    Alert
		want string
	}{
		{AlertNone, "data 1s"},
		{AlertDTAS, "audio 102ms, silence 150ms, data 1s"},
		{AlertLineReversal, "polarity reversed, silence 150ms, audio 102ms, silence 150ms, data 1s, silence 200ms, polarity forward"},
		{AlertRingPulse, "ring 250ms, silence 650ms, data 1s"},
	} {
		s := NewAlertSequence(tc.a, data, Options{})
		if s.String() != tc.want {
			t.Errorf("%v: %s\nwant %s", tc.a, s, tc.want)
		}
		var d time.Duration
		for _, st := range s {
			if (st.Action == ActAudio || st.Action == ActData) && time.Duration(len(st.PCM))*time.Second/8000 != st.Duration {
				t.Errorf("%v: step %v: %d samples for %v", tc.a, st.Action, len(st.PCM), st.Duration)
			}
			d += st.Duration
		}
		if d != s.Duration() {
			t.Errorf("%v: Duration %v, steps add up to %v", tc.a, s.Duration(), d)
		}
	}
	// ETSI timing windows (EN 300 659-1)
	if LRToDTAS < 100*time.Millisecond || DTASToData < 45*time.Millisecond || DTASToData > 500*time.Millisecond ||
		RingPulse < 200*time.Millisecond || RingPulse > 300*time.Millisecond || RingPulseToData < 500*time.Millisecond || RingPulseToData > 800*time.Millisecond {
		t.Error("alert timing outside the ETSI windows")
	}
}

// TestDTASThenData: an ETSI message after DT-AS still decodes.
func TestDTASThenData(t *testing.T) {
	msg := MWIMessage(ETSI, true, MsgOptions{Count: 2})
	var pcm []int16
	for _, st := range NewAlertSequence(AlertDTAS, ModulateFSK(msg, FSKOptions{Standard: V23}), Options{}) {
		if st.PCM != nil {
			pcm = append(pcm, st.PCM...)
		} else {
			pcm = append(pcm, make([]int16, int(st.Duration.Seconds()*8000))...)
		}
	}
	d, err := DecodeMWI(pcm, 8000)
	if err != nil || d.Demodulated.Standard != V23 {
		t.Fatal(d, err)
	}
	if n, _ := d.Message.Count(); n != 2 {
		t.Errorf("decoded %v", d.Message)
	}
}
