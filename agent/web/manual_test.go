package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

// POST /api/mwi: JSON only, the token when one is set, bad requests
// answered 400 with the field named, the agent's refusal 409; the state
// shows an unconfirmed (persisted) account with its age.
func TestManualAPI(t *testing.T) {
	d := newDevice(indicate.DefaultPolicy(0, 0))
	d.set(state.Snapshot{Accounts: []state.Account{
		{Name: "room-101", Waiting: state.WaitingYes, Source: state.SourcePersisted, RestoredFrom: state.SourceSubscribed, Updated: time.Now().Add(-90 * time.Minute)},
	}})
	var got []state.ManualRequest
	manual := func(r state.ManualRequest) ([]string, error) {
		if r.Account == "nope" {
			return nil, errors.New(`agent: manual: account "nope" is not configured`)
		}
		got = append(got, r)
		return []string{r.Account}, nil
	}
	s, err := New(Options{Source: d.src, Applied: d.app, Token: "s3cret", Manual: manual, Diag: func() any { return map[string]int{"x": 1} },
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("m 1\n")) })})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, ctype, body, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "http://127.0.0.1"+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}
	for _, c := range []struct {
		ctype, body, token string
		code               int
		says               string
	}{
		{"application/json", `{"action":"clear","account":"room-101"}`, "", 401, "token"},
		{"text/plain", `{"action":"clear","account":"room-101"}`, "s3cret", 415, "application/json"},
		{"application/json", `{"action":"set","account":"room-101","urgent":2}`, "s3cret", 400, "urgent"},
		{"application/json", `{"action":"clear","acount":"room-101"}`, "s3cret", 400, "acount"},
		{"application/json", `{"action":"clear","account":"nope"}`, "s3cret", 409, "nope"},
		{"application/json; charset=utf-8", `{"action":"set","account":"room-101","new":2}`, "s3cret", 200, `"changed":["room-101"]`},
	} {
		w := do("POST", "/api/mwi", c.ctype, c.body, c.token)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.says) {
			t.Errorf("%s %s: %d %q, want %d with %q", c.ctype, c.body, w.Code, w.Body.String(), c.code, c.says)
		}
	}
	if len(got) != 1 || got[0] != (state.ManualRequest{Action: "set", Account: "room-101", New: 2}) {
		t.Errorf("manual requests %+v", got)
	}
	var st StateJSON
	json.Unmarshal(do("GET", "/api/state", "", "", "s3cret").Body.Bytes(), &st)
	if a := st.Accounts[0]; !a.Unconfirmed || a.Known || a.RestoredFrom != "subscribed" || a.AgeS == nil || *a.AgeS < 5390 || *a.AgeS > 5410 || a.Source != "persisted" {
		t.Errorf("state of the restored account %+v", a)
	}
	if w := do("GET", "/api/diag", "", "", "s3cret"); w.Code != 200 || !strings.Contains(w.Body.String(), `"x": 1`) {
		t.Errorf("diag %d %s", w.Code, w.Body.String())
	}
	if w := do("GET", "/metrics", "", "", "s3cret"); w.Code != 200 || w.Body.String() != "m 1\n" {
		t.Errorf("metrics %d %s", w.Code, w.Body.String())
	}
	bare, _ := New(Options{Source: d.src, Applied: d.app})
	for _, p := range []string{"/api/diag", "/metrics"} {
		w := httptest.NewRecorder()
		bare.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1"+p, nil))
		if w.Code != 404 {
			t.Errorf("%s without the option: %d", p, w.Code)
		}
	}
}
