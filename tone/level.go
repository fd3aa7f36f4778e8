package tone

import "math"

// Level convention.
//
// Levels are in dBm0, the level a signal would have at a 0 dBTLP point of
// the network. This package follows ITU-T G.711: a sine wave at 0 dBm0 lies
// 3.14 dB below a full-scale sine (the A-law figure; μ-law's is 3.17 dB, the
// 0.03 dB difference is below anything a phone can show). With 16-bit PCM a
// full-scale sine has peak amplitude 32767, so
//
//	peak(L dBm0) = 32767 · 10^((L − 3.14) / 20)
//
// 0 dBm0 is a peak of 22 826, the North American dial tone at −13 dBm0 per
// frequency is a peak of 5 110 per component, and FSK data at −14 dBm0 a
// peak of 4 554. Levels apply to each frequency of a tone separately, as
// telephony specifications give them ("350 + 440 Hz at −13 dBm0 each").
// For an amplitude-modulated element (f1*f2) the level is that of the
// carrier f1; the two sidebands f1±f2 lie 6.9 dB below it (90 % depth).
// The sink or codec decides how PCM becomes a voltage on the wire; a SLIC
// whose codec is G.711-scaled reproduces these levels.
const (
	FullScaleSineDB   = 3.14  // dB from a full-scale sine down to 0 dBm0
	FullScale         = 32767 // peak of a full-scale 16-bit sine
	DefaultLevelDBm0  = -13.0 // default tone level per frequency
	DefaultFSKLevel   = -14.0 // default FSK data level
	DefaultSampleRate = 8000
)

// Amplitude returns the peak 16-bit sample value of a sine at level dBm0.
func Amplitude(dBm0 float64) float64 {
	return FullScale * math.Pow(10, (dBm0-FullScaleSineDB)/20)
}

// LevelOf returns the level in dBm0 of a sine with the given peak amplitude.
func LevelOf(peak float64) float64 {
	if peak <= 0 {
		return math.Inf(-1)
	}
	return 20*math.Log10(peak/FullScale) + FullScaleSineDB
}

func nan() float64 { return math.NaN() }
