package tone_test

import (
	"fmt"
	"time"

	"github.com/mwi-agent/mwi-agent/tone"
)

// The FXS line controller turns a mailbox change into an alert sequence and
// executes it step by step while the phone stays on-hook.
func ExampleNewAlertSequence() {
	msg := tone.MWIMessage(tone.ETSI, true, tone.MsgOptions{Count: 2})
	data := tone.ModulateFSK(msg, tone.FSKOptions{Standard: tone.V23})
	seq := tone.NewAlertSequence(tone.AlertLineReversal, data, tone.Options{Rate: 8000})
	for _, st := range seq {
		switch st.Action {
		case tone.ActPolarity:
			fmt.Println("line.SetPolarity reversed =", st.Reversed)
		case tone.ActRing:
			fmt.Println("ring for", st.Duration)
		case tone.ActSilence:
			fmt.Println("wait", st.Duration)
		case tone.ActAudio, tone.ActData:
			fmt.Printf("play %v (%d samples)\n", st.Action, len(st.PCM))
		}
	}
	fmt.Println("total", seq.Duration().Round(time.Millisecond))
	// Output:
	// line.SetPolarity reversed = true
	// wait 150ms
	// play audio (816 samples)
	// wait 150ms
	// play data (4200 samples)
	// wait 200ms
	// line.SetPolarity reversed = false
	// total 1.127s
}

func ExampleParsePlan() {
	p, err := tone.ParsePlan("!350+440/100,!0/100,350+440")
	fmt.Println(len(p.Segments), p.Loop, p.Finite(), err)
	_, err = tone.ParsePlan("350+440/100,0/1OO")
	fmt.Println(err)
	// Output:
	// 3 2 false <nil>
	// tone: element 2 "0/1OO" (offset 12) of "350+440/100,0/1OO": bad duration "1OO": want milliseconds, a whole number ≥ 0
}
