package state

import "testing"

func TestParseManualRequest(t *testing.T) {
	for _, c := range []struct {
		in  string
		ok  bool
		req ManualRequest
	}{
		{`{"action":"set","account":"a","new":2,"old":1,"urgent":1}`, true, ManualRequest{Action: "set", Account: "a", New: 2, Old: 1, Urgent: 1}},
		{`{"action":"clear","all":true}`, true, ManualRequest{Action: "clear", All: true}},
		{`{"action":"clear","account":"a"}`, true, ManualRequest{Action: "clear", Account: "a"}},
		{`{"action":"clear","account":"a","all":true}`, false, ManualRequest{}},
		{`{"action":"set","all":true}`, false, ManualRequest{}},
		{`{"action":"clear","account":"a","new":1}`, false, ManualRequest{}},
		{`{"action":"set","account":"a","new":-1}`, false, ManualRequest{}},
		{`{"action":"set","account":"a","new":4294967296}`, false, ManualRequest{}},
		{`{"action":"set","account":"a"} {}`, false, ManualRequest{}},
		{`{"action":"set","account":"a","x":1}`, false, ManualRequest{}},
		{`not json`, false, ManualRequest{}},
		{``, false, ManualRequest{}},
	} {
		got, err := ParseManualRequest([]byte(c.in))
		if (err == nil) != c.ok || (c.ok && got != c.req) {
			t.Errorf("%s: %+v, %v", c.in, got, err)
		}
	}
	if w, cl := (ManualRequest{Action: "set", Account: "a"}).Mailbox(); w != WaitingYes || cl != nil {
		t.Errorf("set without counts: %v %v", w, cl)
	}
	if w, cl := (ManualRequest{Action: "set", Account: "a", New: 1, Urgent: 1}).Mailbox(); w != WaitingYes || cl[ClassVoice] != (Counts{New: 1, UrgentNew: 1}) {
		t.Errorf("set with counts: %v %v", w, cl)
	}
	if w, cl := (ManualRequest{Action: "clear", All: true}).Mailbox(); w != WaitingNo || cl != nil {
		t.Errorf("clear: %v %v", w, cl)
	}
}

func FuzzParseManualRequest(f *testing.F) {
	f.Add([]byte(`{"action":"set","account":"a","new":2}`))
	f.Add([]byte(`{"action":"clear","all":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseManualRequest(b)
		if err == nil {
			if r.Validate() != nil {
				t.Fatalf("accepted an invalid request %+v", r)
			}
			if w, _ := r.Mailbox(); w == WaitingUnknown {
				t.Fatalf("request %+v gives no mailbox", r)
			}
		}
	})
}
