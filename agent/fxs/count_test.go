package fxs

import (
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/tone"
)

// The ETSI message carries the mailbox's new-message count (parameter 0x13)
// that the policy hands the port, 1 ("one or an unspecified number") when
// the count is unknown, and never 0 while the indicator is on (ETSI EN 300
// 659-3; issue 12).
func TestETSIMessageCarriesCount(t *testing.T) {
	cfg := Config{FSK: true, Format: tone.ETSI, Standard: tone.V23, Alert: tone.AlertDTAS}
	p := &Port{cfg: cfg, rate: 8000, clk: nil}
	for _, tc := range []struct {
		set, want int
		mwi       bool
	}{{3, 3, true}, {0, 1, true}, {-2, 1, true}, {400, 255, true}, {7, 0, false}} {
		p.SetCount(tc.set)
		seq := Sequence(cfg, tc.mwi, int(p.count.Load()), p.rate, time.Time{})
		var data []int16
		for _, st := range seq {
			if st.Action == tone.ActData {
				data = st.PCM
			}
		}
		d, err := tone.DecodeMWI(data, p.rate)
		if err != nil {
			t.Fatalf("count %d: %v", tc.set, err)
		}
		got, ok := d.Message.Count()
		if !ok || got != tc.want {
			t.Errorf("SetCount(%d), mwi=%v: message says %d (present %v), want %d", tc.set, tc.mwi, got, ok, tc.want)
		}
	}
}
