package tone

import (
	"fmt"
	"strings"
	"time"
)

// Alert is how an FXS port tells an idle phone that on-hook data follows
// when no ringing precedes it (ETSI EN 300 659-1, "data transmission not
// associated with ringing"). Bellcore phones need none.
type Alert int

const (
	AlertNone         Alert = iota // data only (Bellcore VMWI)
	AlertLineReversal              // line reversal, then DT-AS, data, polarity restored (BT SIN 227, ETSI)
	AlertDTAS                      // DT-AS dual tone, then data
	AlertRingPulse                 // RP-AS: a short ring burst, a pause, data
)

// DT-AS and alert timing. The ranges are ETSI EN 300 659-1's; each
// constant is a value inside its range with margin on both sides.
const (
	DTASLow         = 2130.0                 // Hz
	DTASHigh        = 2750.0                 // Hz
	DTASDuration    = 100 * time.Millisecond // ~100 ms
	LRToDTAS        = 150 * time.Millisecond // line reversal → DT-AS, ≥ 100 ms
	DTASToData      = 150 * time.Millisecond // DT-AS end → data, 45…500 ms
	RingPulse       = 250 * time.Millisecond // RP-AS burst, 200…300 ms
	RingPulseToData = 650 * time.Millisecond // RP-AS end → data, 500…800 ms
	DataToRestore   = 200 * time.Millisecond // data end → polarity restored, 200…500 ms
)

func (a Alert) String() string {
	switch a {
	case AlertNone:
		return "none"
	case AlertLineReversal:
		return "line-reversal"
	case AlertDTAS:
		return "dt-as"
	case AlertRingPulse:
		return "ring-pulse"
	}
	return fmt.Sprintf("Alert(%d)", int(a))
}

// ParseAlert reads the fxs.alert setting: none, line-reversal, dt-as or
// ring-pulse.
func ParseAlert(s string) (Alert, error) {
	for _, a := range []Alert{AlertNone, AlertLineReversal, AlertDTAS, AlertRingPulse} {
		if strings.EqualFold(strings.TrimSpace(s), a.String()) {
			return a, nil
		}
	}
	return 0, fmt.Errorf("tone: unknown alert %q (want none, line-reversal, dt-as or ring-pulse)", s)
}

// DTAS returns the dual-tone alerting signal, 2130 + 2750 Hz for 100 ms
// with short edge ramps, at opt's rate and level per frequency.
func DTAS(opt Options) []int16 {
	p := Plan{Loop: -1, Segments: []Segment{{
		F1: DTASLow, F2: DTASHigh, Level1: nan(), Level2: nan(),
		Duration: DTASDuration, Once: true,
	}}}
	return Render(p, opt, time.Minute)
}

// LineAction is one kind of step the FXS line controller executes.
type LineAction int

const (
	ActPolarity LineAction = iota // the alert's line reversal (Reversed) or the polarity restored after the data
	ActRing                       // ring for Duration
	ActSilence                    // keep the line idle for Duration
	ActAudio                      // play PCM (an alerting tone)
	ActData                       // play PCM (the FSK data); abort if the hook lifts
)

func (a LineAction) String() string {
	switch a {
	case ActPolarity:
		return "polarity"
	case ActRing:
		return "ring"
	case ActSilence:
		return "silence"
	case ActAudio:
		return "audio"
	case ActData:
		return "data"
	}
	return fmt.Sprintf("LineAction(%d)", int(a))
}

// AlertStep is one timed line action.
type AlertStep struct {
	Action LineAction
	// ActPolarity: true = reverse the line from the polarity it rests in
	// (the alert), false = restore it. A line that rests reversed (polarity
	// MWI) is reversed by going forward; after the data the FXS port puts
	// the line in the polarity the MWI state wants, which may be the
	// alert's own, so a polarity change for MWI is never a second reversal.
	Reversed bool
	Duration time.Duration // ActRing, ActSilence; for audio and data the PCM's length
	PCM      []int16       // ActAudio, ActData
}

// AlertSequence is what an FXS port does, in order, to deliver on-hook data
// to an idle phone. The controller runs it only while the phone is on-hook
// and the line quiet, plays each audio step to its last sample before the
// next line step, and abandons it if the hook lifts (the audio stops at
// once, the line goes back to the polarity it rested in, then forward for
// the call). Most European (V.23) phones need an alert before the data;
// Bellcore phones need none (Country.OnHook has each country's default).
type AlertSequence []AlertStep

// NewAlertSequence builds the sequence for method a around data, the FSK
// PCM (from ModulateFSK, usually without leading silence); opt gives the
// rate and level for the DT-AS.
func NewAlertSequence(a Alert, data []int16, opt Options) AlertSequence {
	rate := opt.rate()
	pcmDur := func(p []int16) time.Duration { return time.Duration(len(p)) * time.Second / time.Duration(rate) }
	dataStep := AlertStep{Action: ActData, PCM: data, Duration: pcmDur(data)}
	switch a {
	case AlertLineReversal:
		dt := DTAS(opt)
		return AlertSequence{
			{Action: ActPolarity, Reversed: true},
			{Action: ActSilence, Duration: LRToDTAS},
			{Action: ActAudio, PCM: dt, Duration: pcmDur(dt)},
			{Action: ActSilence, Duration: DTASToData},
			dataStep,
			{Action: ActSilence, Duration: DataToRestore},
			{Action: ActPolarity, Reversed: false},
		}
	case AlertDTAS:
		dt := DTAS(opt)
		return AlertSequence{
			{Action: ActAudio, PCM: dt, Duration: pcmDur(dt)},
			{Action: ActSilence, Duration: DTASToData},
			dataStep,
		}
	case AlertRingPulse:
		return AlertSequence{
			{Action: ActRing, Duration: RingPulse},
			{Action: ActSilence, Duration: RingPulseToData},
			dataStep,
		}
	}
	return AlertSequence{dataStep}
}

// Duration is the total time the sequence takes.
func (s AlertSequence) Duration() time.Duration {
	var d time.Duration
	for _, st := range s {
		d += st.Duration
	}
	return d
}

// String lists the steps, e.g. "polarity reversed, silence 150ms, audio
// 102ms, silence 150ms, data 640ms, silence 200ms, polarity forward".
func (s AlertSequence) String() string {
	parts := make([]string, len(s))
	for i, st := range s {
		switch st.Action {
		case ActPolarity:
			p := "forward"
			if st.Reversed {
				p = "reversed"
			}
			parts[i] = "polarity " + p
		default:
			parts[i] = fmt.Sprintf("%s %v", st.Action, st.Duration)
		}
	}
	return strings.Join(parts, ", ")
}
