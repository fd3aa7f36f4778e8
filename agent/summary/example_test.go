package summary_test

import (
	"fmt"

	"github.com/mwi-agent/mwi-agent/agent/summary"
)

func ExampleParse() {
	body := []byte("Messages-Waiting: yes\r\n" +
		"Message-Account: sip:1001@pbx.example.com\r\n" +
		"Voice-Message: 2/8 (1/0)\r\n" +
		"Fax-Message: -1/0\r\n")
	s, warnings, err := summary.Parse(body)
	if err != nil {
		fmt.Println("answer 400, keep state:", err)
		return
	}
	v := s.Voice()
	fmt.Printf("waiting=%s account=%s new=%d old=%d urgent=%d\n", s.Waiting, s.Account, v.New, v.Old, v.UrgentNew)
	for _, w := range warnings {
		fmt.Println("warning:", w)
	}

	// An empty body (Kamailio before anything is published) is "no
	// information", not "no messages".
	s, _, _ = summary.Parse(nil)
	fmt.Println(s.Waiting, s.Waiting.State())
	// Output:
	// waiting=yes account=sip:1001@pbx.example.com new=2 old=8 urgent=1
	// warning: line 4: negative count: "Fax-Message: -1/0"
	// none unknown
}

func ExampleFormat() {
	fmt.Printf("%q\n", summary.Format(summary.Summary{Waiting: summary.WaitingNo}))
	// Output: "Messages-Waiting: no\r\n"
}
