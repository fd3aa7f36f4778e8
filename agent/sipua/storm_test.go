package sipua

// Scripted-server tests for every server behaviour of issue 10's table: the
// request count in a bounded window, then the recovery. The same rows, run
// for a longer window with SIPUA_STORM_WINDOW set, measure requests per
// minute (TestStormRates; the figures in docs/sip.md and the closing
// note come from it). Default timers (backoff 1 s doubling, ±25 %), as a
// user gets them.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

type stormRow struct {
	name    string
	grant   int // the scripted server's grants (seconds); 0: 60
	script  func(p *pbx)
	maxReq  int // at most this many REGISTER+SUBSCRIBE in the test window (stormWindow)
	heal    func(p *pbx)
	recover state.Health // health once healed (or, without heal, at the end)
	check   func(t *testing.T, h *harness, p *pbx, start time.Time)
}

const stormWindow = 4 * time.Second

func toTagged(req *sip.Request) bool {
	tag, _ := req.To().Params.Get("tag")
	return tag != ""
}

func stormRows() []stormRow {
	terminateAtOnce := func(subState string) func(p *pbx) {
		return func(p *pbx) {
			p.noNotify = true
			p.onSub = func(req *sip.Request, s *pbxSub) (int, func()) {
				return 200, func() { go p.notify(s, subState, "") }
			}
		}
	}
	healSub := func(p *pbx) { p.onSub, p.noNotify, p.grantSub = nil, false, 60 }
	healReg := func(p *pbx) { p.onReg = nil }
	return []stormRow{
		{
			name:   "SUBSCRIBE 200 Expires 0",
			script: func(p *pbx) { p.grantSub = 0 },
			maxReq: 8, heal: healSub, recover: state.HealthSubscribed,
		},
		{
			name:   "terminated;reason=deactivated at once",
			script: terminateAtOnce("terminated;reason=deactivated"),
			maxReq: 8, heal: healSub, recover: state.HealthSubscribed,
		},
		{
			name:   "terminated (no reason) at once",
			script: terminateAtOnce("terminated"),
			maxReq: 8, heal: healSub, recover: state.HealthSubscribed,
		},
		{
			name: "481 to every initial SUBSCRIBE",
			script: func(p *pbx) {
				p.onSub = func(req *sip.Request, s *pbxSub) (int, func()) {
					if !toTagged(req) {
						return 481, nil
					}
					return 200, nil
				}
			},
			maxReq: 8, heal: healSub, recover: state.HealthSubscribed,
		},
		{
			name: "REGISTER 423 Min-Expires equal to the request",
			script: func(p *pbx) {
				p.onReg = func(req *sip.Request) *sip.Response {
					if ok, _ := p.authorized(req, "Authorization"); !ok {
						return nil
					}
					res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
					res.AppendHeader(sip.NewHeader("Min-Expires", req.GetHeader("Expires").Value()))
					return res
				}
			},
			maxReq: 6, heal: healReg, recover: state.HealthSubscribed,
		},
		{
			name:  "in-dialog refresh 503, new SUBSCRIBE fine",
			grant: 4,
			script: func(p *pbx) {
				p.onSub = func(req *sip.Request, s *pbxSub) (int, func()) {
					if toTagged(req) {
						return 503, nil
					}
					return 200, nil
				}
			},
			maxReq: 10, recover: state.HealthSubscribed,
			check: func(t *testing.T, h *harness, p *pbx, start time.Time) {
				// The first refresh failed: a new dialog (new Call-ID, no
				// To-tag) followed, and the old one was un-SUBSCRIBEd.
				p.mu.Lock()
				defer p.mu.Unlock()
				var first string
				failedAt, newDialog, unsub := -1, false, false
				for i, r := range p.log {
					if r.Method != sip.SUBSCRIBE {
						continue
					}
					switch {
					case first == "" && !toTagged(r):
						first = r.CallID().Value()
					case failedAt < 0 && toTagged(r) && r.CallID().Value() == first:
						failedAt = i
					case failedAt >= 0 && toTagged(r) && r.CallID().Value() == first && r.GetHeader("Expires").Value() == "0":
						unsub = true
					case failedAt >= 0 && !toTagged(r) && r.CallID().Value() != first:
						newDialog = true
					}
				}
				if failedAt < 0 || !newDialog || !unsub {
					t.Errorf("refresh in dialog %v, then new dialog %v, old one un-SUBSCRIBEd %v", failedAt >= 0, newDialog, unsub)
				}
				if u := h.health("1"); u.Health == state.HealthStale {
					t.Errorf("stale: the new dialog came after the grant lapsed")
				}
			},
		},
		{
			name: "481 to REGISTER",
			script: func(p *pbx) {
				p.onReg = func(req *sip.Request) *sip.Response {
					return sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil)
				}
			},
			maxReq: 6, heal: healReg, recover: state.HealthSubscribed,
		},
		{
			name: "NOTIFY active;expires=3 on a 60 s grant",
			script: func(p *pbx) {
				p.noNotify = true
				p.onSub = func(req *sip.Request, s *pbxSub) (int, func()) {
					if toTagged(req) {
						return 200, nil
					}
					return 200, func() { go p.notify(s, "active;expires=3", bodyYes) }
				}
			},
			maxReq: 8, recover: state.HealthSubscribed,
			check: func(t *testing.T, h *harness, p *pbx, start time.Time) {
				p.mu.Lock()
				defer p.mu.Unlock()
				var initial time.Time
				refresh := time.Duration(-1)
				for _, r := range p.log {
					if r.Method == sip.SUBSCRIBE && !initial.IsZero() && refresh < 0 && toTagged(r) {
						refresh = p.at[r].Sub(initial)
					}
					if r.Method == sip.SUBSCRIBE && !toTagged(r) && r.GetHeader("Authorization") != nil {
						initial = p.at[r]
					}
				}
				if refresh < 0 || refresh > 3*time.Second {
					t.Errorf("refresh %v after the subscription granted 3 s by NOTIFY; want within 3 s", refresh)
					for _, r := range p.log {
						t.Logf("%v %s to-tag %v auth %v", p.at[r].Sub(start), r.Method, toTagged(r), r.GetHeader("Authorization") != nil)
					}
				}
			},
		},
		{
			name: "registrar ignores a REGISTER without a usable Contact (Asterisk 22)",
			script: func(p *pbx) {
				p.ignoreReg = func(req *sip.Request) bool {
					c := req.Contact()
					return c == nil || c.Address.Host == "" || c.Address.Port == 0
				}
			},
			maxReq: 6, recover: state.HealthSubscribed,
			check: func(t *testing.T, h *harness, p *pbx, start time.Time) {
				h.waitHealth("1", state.HealthSubscribed, time.Second)
			},
		},
	}
}

// stormStart starts one account against a pbx scripted by row, with the
// default timers. It returns when the account is started.
func stormStart(t *testing.T, row stormRow) (*harness, *pbx, time.Time) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	p.mu.Lock()
	if row.grant > 0 {
		p.grantSub = row.grant
	}
	if g, err := strconv.Atoi(os.Getenv("SIPUA_STORM_GRANT")); err == nil && g > 0 {
		p.grantSub = g // measure a row with the grants a server really gives
	}
	row.script(p)
	p.mu.Unlock()
	h := newHarness(t, p, func(o *Options) {
		o.Backoff, o.SlowRetry, o.LongRetry = Backoff{}, 0, 0 // the defaults
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg := h.account("1", "udp")
	start := time.Now()
	h.start(ctx, cfg)
	return h, p, start
}

// requests counts REGISTER and SUBSCRIBE the pbx received.
func (p *pbx) requests() (reg, sub int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.log {
		switch r.Method {
		case sip.REGISTER:
			reg++
		case sip.SUBSCRIBE:
			sub++
		}
	}
	return reg, sub
}

func TestStormRows(t *testing.T) {
	for _, row := range stormRows() {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			h, p, start := stormStart(t, row)
			time.Sleep(stormWindow)
			reg, sub := p.requests()
			if reg+sub > row.maxReq {
				t.Errorf("%d REGISTER + %d SUBSCRIBE in %v, want at most %d", reg, sub, stormWindow, row.maxReq)
			}
			if reg+sub < 2 {
				t.Errorf("%d REGISTER + %d SUBSCRIBE in %v: the worker gave up", reg, sub, stormWindow)
			}
			if row.check != nil {
				row.check(t, h, p, start)
			}
			if row.heal != nil {
				p.mu.Lock()
				row.heal(p)
				p.mu.Unlock()
			}
			// Recovery: the next backoff step (4–8 s here) and one exchange.
			h.waitHealth("1", row.recover, 10*time.Second)
		})
	}
}

// TestStormRates measures requests per minute for each row over
// SIPUA_STORM_WINDOW (e.g. 60s); skipped without it:
//
//	SIPUA_STORM_WINDOW=60s go test -run TestStormRates -v ./agent/sipua/
//
// SIPUA_STORM_GRANT=60 overrides the rows' subscription grants.
func TestStormRates(t *testing.T) {
	w, err := time.ParseDuration(os.Getenv("SIPUA_STORM_WINDOW"))
	if err != nil {
		t.Skip("set SIPUA_STORM_WINDOW (e.g. 60s) to measure requests per minute per row")
	}
	for _, row := range stormRows() {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			h, p, start := stormStart(t, row)
			time.Sleep(w)
			reg, sub := p.requests()
			el := time.Since(start).Minutes()
			u := h.health("1")
			// After the first minute: the sustained rate.
			late := 0
			p.mu.Lock()
			for _, r := range p.log {
				if p.at[r].Sub(start) > time.Minute && (r.Method == sip.REGISTER || r.Method == sip.SUBSCRIBE) {
					late++
				}
			}
			p.mu.Unlock()
			sustained := "-"
			if el > 1 {
				sustained = fmt.Sprintf("%.1f/min", float64(late)/(el-1))
			}
			fmt.Printf("STORM %-70s REGISTER %6.0f/min SUBSCRIBE %6.0f/min  (%d+%d in %s; after the first minute %s) health=%v reason=%q\n",
				strconv.Quote(row.name), float64(reg)/el, float64(sub)/el, reg, sub, w, sustained, u.Health, u.LastReason)
		})
	}
}
