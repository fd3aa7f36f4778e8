package sipua

// Scripted-server tests for the trust rules (issue 11): dialog identity,
// unsolicited NOTIFY admission and order, no silent loss, flood bounds.
// Each asserts what the lamp shows, through the same pure policy the
// agent uses.

import (
	"context"
	"fmt"
	"github.com/mwi-agent/mwi-agent/agent/internal/syncbuf"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal"
)

// lamp is what the main lamp shows for this one account right now.
func (h *harness) lamp(name string) hal.Pattern {
	h.mu.Lock()
	u := h.last[name]
	mb, ok := h.mb[name]
	h.mu.Unlock()
	acc := state.Account{Name: name, Health: u.Health}
	if ok {
		acc.Waiting, acc.Classes, acc.Source = mb.Waiting, mb.Classes, mb.Source
	}
	return indicate.Compute(state.Snapshot{Accounts: []state.Account{acc}}, indicate.DefaultPolicy(0, 0)).Lamp
}

func (h *harness) wantLamp(name string, want hal.Pattern, why string) {
	h.t.Helper()
	if got := h.lamp(name); got.Name != want.Name {
		h.t.Errorf("%s: lamp %s, want %s (%s); last update %+v", why, got.Name, want.Name, name, h.health(name))
	}
}

// subscribed starts a subscribe-only UDP account and waits until the
// PBX's first NOTIFY (bodyYes) is applied.
func (h *harness) subscribed(ctx context.Context, name string) {
	h.t.Helper()
	cfg := h.account(name, "udp")
	cfg.Register = false
	h.start(ctx, cfg)
	h.waitWaiting(name, state.WaitingYes, 2, 3*time.Second)
}

// rawAnswer is a response read off a raw socket.
type rawAnswer struct {
	code       int
	reason     string
	retryAfter string
	toTag      string
}

// rawNotify sends one NOTIFY datagram from conn and, unless wait is 0,
// reads its final answer.
func rawNotify(t testing.TB, conn net.PacketConn, to, user, body, callID, fromTag, toTag string, cseq int, wait time.Duration) rawAnswer {
	t.Helper()
	return sendRaw(t, conn, to, rawNotifyBytes(conn, to, user, body, callID, fromTag, toTag, "active", cseq), wait)
}

// rawNotifyBytes is a NOTIFY datagram from conn's address with a fresh
// branch (sending the same bytes again is a retransmission).
func rawNotifyBytes(conn net.PacketConn, to, user, body, callID, fromTag, toTag, subState string, cseq int) []byte {
	toHdr := fmt.Sprintf("<sip:%s@test.local>", user)
	if toTag != "" {
		toHdr += ";tag=" + toTag
	}
	return []byte(fmt.Sprintf("NOTIFY sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\n"+
		"From: <sip:voicemail@test.local>;tag=%s\r\n"+
		"To: %s\r\nCall-ID: %s\r\nCSeq: %d NOTIFY\r\nMax-Forwards: 70\r\n"+
		"Event: message-summary\r\nSubscription-State: %s\r\n"+
		"Content-Type: application/simple-message-summary\r\nContent-Length: %d\r\n\r\n%s",
		user, to, conn.LocalAddr(), sip.GenerateBranchN(12), fromTag, toHdr, callID, cseq, subState, len(body), body))
}

// sendRaw sends a datagram from conn to the address to and, unless wait
// is 0, reads the final answer.
func sendRaw(t testing.TB, conn net.PacketConn, to string, raw []byte, wait time.Duration) rawAnswer {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteTo(raw, ua); err != nil {
		t.Fatal(err)
	}
	if wait == 0 {
		return rawAnswer{}
	}
	return readAnswer(t, conn, wait)
}

func readAnswer(t testing.TB, conn net.PacketConn, wait time.Duration) rawAnswer {
	t.Helper()
	buf := make([]byte, 8192)
	conn.SetReadDeadline(time.Now().Add(wait))
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		msg, err := sip.ParseMessage(buf[:n])
		if err != nil {
			continue
		}
		if res, ok := msg.(*sip.Response); ok && res.StatusCode >= 200 {
			a := rawAnswer{code: res.StatusCode, reason: res.Reason, retryAfter: headerValue(res, "Retry-After")}
			if h := res.To(); h != nil {
				a.toTag, _ = h.Params.Get("tag")
			}
			return a
		}
	}
}

func listenUDP(t testing.TB, addr string) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A NOTIFY in our dialog (right Call-ID and To-tag) but with a foreign
// From-tag and a high CSeq is answered 481 and changes nothing: not the
// state, not the remote target, not the CSeq the genuine notifier's next
// NOTIFY is compared with.
func TestForeignFromTag(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	h := newHarness(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.subscribed(ctx, "1101")
	h.waitHealth("1101", state.HealthSubscribed, time.Second)
	h.wantLamp("1101", indicate.PatternUrgent, "subscribed, urgent message waiting")

	sub := p.onlySub()
	spoof := listenUDP(t, "127.0.0.1:0")
	ans := rawNotify(t, spoof, h.ua.UDPAddr().String(), "1101", bodyNo, sub.callID, "intruder", sub.fromTag, 1<<30, 3*time.Second)
	if ans.code != 481 {
		t.Fatalf("foreign From-tag answered %d %s, want 481", ans.code, ans.reason)
	}
	time.Sleep(100 * time.Millisecond)
	// The genuine notifier's next NOTIFY (a low CSeq) still counts.
	h.stillLitThenCleared(p, sub, "1101", "the foreign NOTIFY")
}

// stillLitThenCleared: what came before (named by why) left the account
// lit; the genuine notifier's next NOTIFY (no messages) is answered 200,
// applied, and the lamp goes off.
func (h *harness) stillLitThenCleared(p *pbx, sub *pbxSub, name, why string) {
	h.t.Helper()
	if mb := h.mailbox(name); mb.Waiting != state.WaitingYes {
		h.t.Fatalf("%s changed waiting to %v", why, mb.Waiting)
	}
	h.wantLamp(name, indicate.PatternUrgent, "after "+why)
	if res, err := p.notify(sub, "active", bodyNo); err != nil || res.StatusCode != 200 {
		h.t.Fatalf("the notifier's next NOTIFY answered %v %v, want 200", res, err)
	}
	h.waitWaiting(name, state.WaitingNo, 0, time.Second)
	h.wantLamp(name, indicate.PatternOff, "the notifier's next NOTIFY: nothing waiting")
}

// Unsolicited NOTIFY admission: only for accounts that accept it, over
// UDP from the server's own address and port (or unsolicited_from), and
// every refusal answered alike — unknown user, wrong source, refused
// account — so a prober learns nothing.
func TestUnsolicitedAdmission(t *testing.T) {
	srv := listenUDP(t, "127.0.0.1:0") // plays the server: the account's Server
	p := newPBX(t, nil)
	h := newHarness(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, name := range []string{"1102", "1103"} {
		cfg := h.account(name, "udp")
		cfg.Register, cfg.Subscribe, cfg.Server = false, false, srv.LocalAddr().String()
		cfg.Unsolicited = name == "1102"
		h.start(ctx, cfg)
	}
	agent := h.ua.UDPAddr().String()

	ans := rawNotify(t, srv, agent, "1102", bodyYes, uuid.NewString(), "t1", "", 1, 3*time.Second)
	if ans.code != 200 {
		t.Fatalf("from the server's address and port: %d %s, want 200", ans.code, ans.reason)
	}
	if mb := h.waitWaiting("1102", state.WaitingYes, 2, time.Second); mb.Source != state.SourceUnsolicited {
		t.Errorf("source %v, want unsolicited", mb.Source)
	}
	h.wantLamp("1102", indicate.PatternUrgent, "unsolicited yes")

	otherPort := listenUDP(t, "127.0.0.1:0")
	otherIP := listenUDP(t, "127.0.0.2:0")
	var answers []rawAnswer
	for _, c := range []struct {
		conn net.PacketConn
		user string
	}{{otherPort, "1102"}, {otherIP, "1102"}, {srv, "9999"}, {srv, "1103"}} {
		answers = append(answers, rawNotify(t, c.conn, agent, c.user, bodyNo, uuid.NewString(), "t2", "", 1, 3*time.Second))
	}
	for i, a := range answers {
		a.toTag = answers[0].toTag // a stateless refusal's tag is its own
		if a != answers[0] || a.code != 481 {
			t.Errorf("refusal %d answered %+v; want every refusal answered alike with 481 (%+v)", i, a, answers)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if mb := h.mailbox("1102"); mb.Waiting != state.WaitingYes {
		t.Fatalf("refused NOTIFYs changed the state to %v", mb.Waiting)
	}
	h.wantLamp("1102", indicate.PatternUrgent, "after refused NOTIFYs")
}

// unsolicited_from widens UDP admission to the listed addresses (any port).
func TestUnsolicitedFrom(t *testing.T) {
	srv := listenUDP(t, "127.0.0.1:0")
	other := listenUDP(t, "127.0.0.1:0")
	h := newHarness(t, newPBX(t, nil), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("1104", "udp")
	cfg.Register, cfg.Subscribe, cfg.Server = false, false, srv.LocalAddr().String()
	cfg.UnsolicitedFrom = []string{"127.0.0.0/24"}
	h.start(ctx, cfg)
	if ans := rawNotify(t, other, h.ua.UDPAddr().String(), "1104", bodyYes, uuid.NewString(), "t", "", 1, 3*time.Second); ans.code != 200 {
		t.Fatalf("from an unsolicited_from address: %d, want 200", ans.code)
	}
	h.waitWaiting("1104", state.WaitingYes, 2, time.Second)
}

// While the mailbox's subscription is active an unsolicited NOTIFY is
// refused (the subscription is the authority) unless the account opted
// in with UnsolicitedAlways.
func TestUnsolicitedWhileSubscribed(t *testing.T) {
	for _, always := range []bool{false, true} {
		t.Run(fmt.Sprintf("always=%v", always), func(t *testing.T) {
			p := newPBX(t, nil)
			p.setBody(bodyYes)
			h := newHarness(t, p, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg := h.account("1105", "udp")
			cfg.Register = false
			cfg.UnsolicitedFrom = []string{"127.0.0.1"}
			cfg.UnsolicitedAlways = always
			h.start(ctx, cfg)
			h.waitWaiting("1105", state.WaitingYes, 2, 3*time.Second)
			h.waitHealth("1105", state.HealthSubscribed, time.Second)
			c := listenUDP(t, "127.0.0.1:0")
			ans := rawNotify(t, c, h.ua.UDPAddr().String(), "1105", bodyNo, uuid.NewString(), "t", "", 1, 3*time.Second)
			if always {
				if ans.code != 200 {
					t.Fatalf("opted in: %d, want 200", ans.code)
				}
				h.waitWaiting("1105", state.WaitingNo, 0, time.Second)
				h.wantLamp("1105", indicate.PatternOff, "opted in: unsolicited no")
				return
			}
			if ans.code != 481 {
				t.Fatalf("subscription active: %d, want 481", ans.code)
			}
			time.Sleep(100 * time.Millisecond)
			h.wantLamp("1105", indicate.PatternUrgent, "unsolicited refused while subscribed")
		})
	}
}

// Over TCP an unsolicited NOTIFY is taken only on the registration's own
// connection: not over UDP, not over another connection.
func TestUnsolicitedTCPFlow(t *testing.T) {
	p := newPBX(t, nil)
	h := newHarness(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("1106", "tcp")
	cfg.Subscribe = false
	h.start(ctx, cfg)
	h.waitHealth("1106", state.HealthRegistered, 3*time.Second)
	reg := p.next(sip.REGISTER, time.Second)
	for reg.GetHeader("Authorization") == nil {
		reg = p.next(sip.REGISTER, time.Second)
	}
	agentFlow := reg.Source() // the agent's end of the registration's connection

	// Over UDP (to the agent's UDP listener): wrong transport.
	c := listenUDP(t, "127.0.0.1:0")
	if ans := rawNotify(t, c, h.ua.UDPAddr().String(), "1106", bodyYes, uuid.NewString(), "t", "", 1, 3*time.Second); ans.code != 481 {
		t.Errorf("over UDP for a TCP account: %d, want 481", ans.code)
	}
	// Over another server's connection (another account's registration).
	p2 := newPBX(t, nil)
	h2cfg := AccountConfig{Name: "2106", AOR: testURI("sip:2106@test.local"), Password: "pw-2106", Server: p2.addr["tcp"], Transport: "tcp", Register: true, RegisterExpiry: 60 * time.Second, Unsolicited: true}
	p2.mu.Lock()
	p2.users["2106"] = "pw-2106"
	p2.mu.Unlock()
	h.start(ctx, h2cfg)
	h.waitHealth("2106", state.HealthRegistered, 3*time.Second)
	if code := flowNotify(t, p2, lastRegisterSource(t, p2), "1106", bodyYes); code != 481 {
		t.Errorf("over another server's connection: %d, want 481", code)
	}
	time.Sleep(100 * time.Millisecond)
	if mb := h.mailbox("1106"); mb.Waiting == state.WaitingYes {
		t.Fatal("a refused NOTIFY lit the account")
	}
	// Over the registration's connection: taken.
	if code := flowNotify(t, p, agentFlow, "1106", bodyYes); code != 200 {
		t.Fatalf("over the registration's connection: %d, want 200", code)
	}
	h.waitWaiting("1106", state.WaitingYes, 2, time.Second)
	h.wantLamp("1106", indicate.PatternUrgent, "unsolicited over the registration's connection")
}

func lastRegisterSource(t testing.TB, p *pbx) string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.log) - 1; i >= 0; i-- {
		if p.log[i].Method == sip.REGISTER {
			return p.log[i].Source()
		}
	}
	t.Fatal("no REGISTER")
	return ""
}

// flowNotify sends an unsolicited NOTIFY from the PBX over its TCP
// connection to the agent at flow.
func flowNotify(t testing.TB, p *pbx, flow, user, body string) int {
	t.Helper()
	req := sip.NewRequest(sip.NOTIFY, sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"})
	req.SetTransport("TCP")
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "voicemail", Host: "test.local"}, Params: sip.NewParams()}
	from.Params.Add("tag", "vm")
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "test.local"}, Params: sip.NewParams()})
	cid := sip.CallIDHeader(uuid.NewString())
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.NOTIFY})
	req.AppendHeader(sip.NewHeader("Event", "message-summary"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/simple-message-summary"))
	req.SetBody([]byte(body))
	req.SetDestination(flow)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client["tcp"].Do(ctx, req)
	if err != nil {
		t.Fatalf("NOTIFY over %s: %v", flow, err)
	}
	return res.StatusCode
}

// Back-to-back unsolicited NOTIFYs are applied in arrival order: the
// last one sent is what the lamp shows, every time (sipgo handles each
// message on its own goroutine; before, yes-then-no ended yes in 125 of
// 300 runs).
func TestUnsolicitedArrivalOrder(t *testing.T) {
	srv := listenUDP(t, "127.0.0.1:0")
	h := newHarness(t, newPBX(t, nil), func(o *Options) { o.UnsolicitedRate = 10000 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("1107", "udp")
	cfg.Register, cfg.Subscribe, cfg.Server = false, false, srv.LocalAddr().String()
	h.start(ctx, cfg)
	agent := h.ua.UDPAddr().String()
	const runs = 150
	for i := range runs {
		first, last := bodyYes, fmt.Sprintf("Messages-Waiting: no\r\nVoice-Message: 0/%d\r\n", i+1)
		wantWaiting := state.WaitingNo
		if i%2 == 1 {
			first, last = bodyNo, fmt.Sprintf("Messages-Waiting: yes\r\nVoice-Message: %d/0\r\n", i+1)
			wantWaiting = state.WaitingYes
		}
		rawNotify(t, srv, agent, "1107", first, uuid.NewString(), "a", "", 1, 0)
		rawNotify(t, srv, agent, "1107", last, uuid.NewString(), "b", "", 1, 0)
		for range 2 {
			if a := readAnswer(t, srv, 3*time.Second); a.code != 200 {
				t.Fatalf("run %d: answered %d", i, a.code)
			}
		}
		mb := h.mailbox("1107")
		c := mb.Classes[state.ClassVoice]
		if mb.Waiting != wantWaiting || (c.New+c.Old) != uint32(i+1) {
			t.Fatalf("run %d: after both were answered the state is %v %+v, want the last one sent (%v, total %d)", i, mb.Waiting, c, wantWaiting, i+1)
		}
		h.wantLamp("1107", map[state.Waiting]hal.Pattern{state.WaitingYes: indicate.PatternSteady, state.WaitingNo: indicate.PatternOff}[wantWaiting], "the last NOTIFY sent")
	}
}

// No silent loss: when the worker cannot take a NOTIFY in time it is
// answered 500 with Retry-After and not applied later behind the server's
// back; the server's next NOTIFY is applied.
func TestNotifyNotLostWhenWorkerBusy(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	block := make(chan struct{})
	var h *harness
	blocking := false
	h = newHarness(t, p, func(o *Options) {
		next := o.OnUpdate
		o.OnUpdate = func(u Update) {
			next(u)
			if u.Mailbox != nil && u.Mailbox.Waiting == state.WaitingYes && !blocking {
				blocking = true
				<-block // the worker is stuck here once, after applying "yes"
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.subscribed(ctx, "1108")
	sub := p.onlySub()
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	res, err := p.notify(sub, "active", bodyNo)
	if err != nil || res.StatusCode != 500 {
		t.Fatalf("NOTIFY to a stuck worker answered %v %v, want 500", res, err)
	}
	if ra := res.GetHeader("Retry-After"); ra == nil {
		t.Error("500 without Retry-After")
	}
	t.Logf("answered 500 after %v", time.Since(t0).Round(time.Millisecond))
	close(block)
	time.Sleep(200 * time.Millisecond)
	h.stillLitThenCleared(p, sub, "1108", "the NOTIFY answered 500")
}

// Flood bounds: spoofed NOTIFYs for known and unknown users from many
// source ports, garbage datagrams, stray responses and other methods:
// none reaches sipgo (no connection-pool entry for the source), the log
// stays a handful of lines with a suppressed count, and a logged datagram
// is cut short. The real server is still served.
func TestFloodLeavesNoState(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	var logBuf syncbuf.Buffer
	h := newHarness(t, p, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logBuf, nil)) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.subscribed(ctx, "1109")
	agent := h.ua.UDPAddr().String()
	ua, _ := net.ResolveUDPAddr("udp", agent)
	garbage := []byte(strings.Repeat("\xffgarbage ", 3500)) // ~30 KB
	var sources []string
	for i := range 300 {
		c := listenUDP(t, "127.0.0.1:0")
		sources = append(sources, c.LocalAddr().String())
		switch i % 4 {
		case 0:
			rawNotify(t, c, agent, "1109", bodyNo, uuid.NewString(), "x", "", 1, 0)
		case 1:
			rawNotify(t, c, agent, fmt.Sprintf("u%d", i), bodyNo, uuid.NewString(), "x", "", 1, 0)
		case 2:
			c.WriteTo(garbage, ua)
		case 3:
			c.WriteTo([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nContent-Length: 0\r\n\r\n"), ua)
		}
		c.Close()
	}
	time.Sleep(300 * time.Millisecond)
	for _, s := range sources {
		if c, err := h.ua.sua.TransportLayer().GetConnection("udp", s); err == nil && c != nil {
			t.Fatalf("spoofed source %s is in sipgo's connection pool", s)
		}
	}
	log := logBuf.String()
	lines := strings.Count(log, "\n")
	if lines > 20 {
		t.Errorf("%d log lines for 300 bad packets; want a rate-limited handful:\n%s", lines, log)
	}
	for _, l := range strings.Split(log, "\n") {
		if len(l) > 1000 {
			t.Errorf("a log line of %d bytes: logged datagrams must be cut short", len(l))
		}
	}
	// Still served: the real notifier's NOTIFY is taken.
	h.stillLitThenCleared(p, p.onlySub(), "1109", "the flood")
	// A later line of a suppressed kind says how many were suppressed.
	h.ua.gate.logs.mu.Lock()
	for _, k := range h.ua.gate.logs.kinds {
		k.start = time.Time{}
	}
	h.ua.gate.logs.mu.Unlock()
	// (a refused NOTIFY: small, so the flood's share of them surely
	// arrived — the 30 KB datagrams may overflow the socket's buffer)
	c := listenUDP(t, "127.0.0.1:0")
	rawNotify(t, c, agent, "9999", bodyNo, uuid.NewString(), "x", "", 1, 0)
	for deadline := time.Now().Add(slack * time.Second); time.Now().Before(deadline) && !strings.Contains(logBuf.String(), "suppressed_before="); {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logBuf.String(), "suppressed_before=") {
		t.Errorf("no suppressed count in the log:\n%s", logBuf.String())
	}
}

// Over TCP too: two unsolicited NOTIFYs written back to back on the
// registration's connection are applied in the order they were written.
func TestUnsolicitedArrivalOrderTCP(t *testing.T) {
	p := newPBX(t, nil)
	h := newHarness(t, p, func(o *Options) { o.UnsolicitedRate = 10000 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("1110", "tcp")
	cfg.Subscribe = false
	h.start(ctx, cfg)
	h.waitHealth("1110", state.HealthRegistered, 3*time.Second)
	flow := lastRegisterSource(t, p)
	conn, err := p.ua.TransportLayer().GetConnection("tcp", flow)
	if err != nil || conn == nil {
		t.Fatalf("the PBX's connection to the agent: %v", err)
	}
	w := conn.(interface{ Write([]byte) (int, error) })
	msg := func(body string) string {
		return fmt.Sprintf("NOTIFY sip:1110@test.local SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK%s\r\n"+
			"From: <sip:voicemail@test.local>;tag=vm\r\nTo: <sip:1110@test.local>\r\nCall-ID: %s\r\nCSeq: 1 NOTIFY\r\n"+
			"Max-Forwards: 70\r\nEvent: message-summary\r\nContent-Type: application/simple-message-summary\r\nContent-Length: %d\r\n\r\n%s",
			p.addr["tcp"], sip.GenerateBranchN(12), uuid.NewString(), len(body), body)
	}
	for i := range 60 {
		first, last := bodyYes, fmt.Sprintf("Messages-Waiting: no\r\nVoice-Message: 0/%d\r\n", i+1)
		want := state.WaitingNo
		if i%2 == 1 {
			first, last = bodyNo, fmt.Sprintf("Messages-Waiting: yes\r\nVoice-Message: %d/0\r\n", i+1)
			want = state.WaitingYes
		}
		if _, err := w.Write([]byte(msg(first) + msg(last))); err != nil {
			t.Fatal(err)
		}
		check := func() bool {
			mb := h.mailbox("1110")
			c := mb.Classes[state.ClassVoice]
			return mb.Waiting == want && c.New+c.Old == uint32(i+1)
		}
		deadline := time.Now().Add(slack * time.Second)
		for !check() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // an overtaken NOTIFY would land now
		if !check() {
			mb := h.mailbox("1110")
			t.Fatalf("run %d: state %v %+v, want the last one written (%v, total %d)", i, mb.Waiting, mb.Classes[state.ClassVoice], want, i+1)
		}
		h.wantLamp("1110", map[state.Waiting]hal.Pattern{state.WaitingYes: indicate.PatternSteady, state.WaitingNo: indicate.PatternOff}[want], "the last NOTIFY written")
	}
}
