package tone

import (
	"bytes"
	"math"
	"math/rand"
	"testing"
	"time"
)

// TestDemodNoise: the demodulator still finds the message in white noise
// 20 dB below the signal, at a low level, and with a DC offset.
func TestDemodNoise(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, std := range []Standard{Bell202, V23} {
		for _, snr := range []float64{30, 20, 15} {
			msg := MWIMessage(MDMF, true, MsgOptions{})
			pcm := ModulateFSK(msg, FSKOptions{Standard: std, LevelDBm0: -30, LeadingSilence: 200 * time.Millisecond})
			sigma := Amplitude(-30) / 1.41421356 * pow10(-snr/20)
			for i := range pcm {
				pcm[i] = toInt16(float64(pcm[i]) + rng.NormFloat64()*sigma + 50)
			}
			d, err := DecodeMWI(pcm, 8000)
			if err != nil || !bytes.Equal(d.Message.Raw, msg) {
				t.Errorf("%v SNR %g dB: %v %v", std, snr, d.Message, err)
			} else if d.Demodulated.Standard != std {
				t.Errorf("%v SNR %g dB: classified as %v (mark %.0f space %.0f)", std, snr, d.Demodulated.Standard, d.Demodulated.MarkHz, d.Demodulated.SpaceHz)
			}
		}
	}
}

func pow10(x float64) float64 { return math.Pow(10, x) }
