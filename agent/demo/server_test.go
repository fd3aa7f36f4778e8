package demo

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// subscriber is a minimal SIP UA for the tests: it registers, subscribes
// and records every NOTIFY.
type subscriber struct {
	t       *testing.T
	client  *sipgo.Client
	local   string
	notify  chan *sip.Request
	respond int // status for NOTIFYs
}

func newSubscriber(t *testing.T) *subscriber {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	local := conn.LocalAddr().String()
	host, ps, _ := net.SplitHostPort(local)
	port, _ := strconv.Atoi(ps)
	ua, _ := sipgo.NewUA(sipgo.WithUserAgentHostname(host))
	srv, _ := sipgo.NewServer(ua)
	client, _ := sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(port), sipgo.WithClientConnectionAddr(local))
	s := &subscriber{t: t, client: client, local: local, notify: make(chan *sip.Request, 20), respond: 200}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, s.respond, "x", nil))
		s.notify <- req
	})
	go srv.ServeUDP(conn)
	waitListening(ua, local)
	t.Cleanup(func() { ua.Close(); conn.Close() })
	return s
}

func (s *subscriber) do(req *sip.Request, user, pass string) *sip.Response {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := s.client.Do(ctx, req)
	if err != nil {
		s.t.Fatalf("%s: %v", req.Method, err)
	}
	if res.StatusCode == 401 {
		res, err = s.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: pass})
		if err != nil {
			s.t.Fatalf("%s with auth: %v", req.Method, err)
		}
	}
	return res
}

func (s *subscriber) request(method sip.RequestMethod, server, user string, expires int) *sip.Request {
	host, ps, _ := net.SplitHostPort(server)
	port, _ := strconv.Atoi(ps)
	uri := sip.Uri{Scheme: "sip", User: user, Host: host, Port: port}
	req := sip.NewRequest(method, uri)
	lh, lp, _ := net.SplitHostPort(s.local)
	lport, _ := strconv.Atoi(lp)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: host}, Params: sip.NewParams()})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: lh, Port: lport}})
	e := sip.ExpiresHeader(expires)
	req.AppendHeader(&e)
	if method == sip.SUBSCRIBE {
		req.AppendHeader(sip.NewHeader("Event", "message-summary"))
		req.AppendHeader(sip.NewHeader("Accept", "application/simple-message-summary"))
	}
	return req
}

func (s *subscriber) next(want string) *sip.Request {
	s.t.Helper()
	select {
	case n := <-s.notify:
		if !strings.Contains(string(n.Body()), want) {
			s.t.Fatalf("NOTIFY body %q, want it to contain %q", n.Body(), want)
		}
		return n
	case <-time.After(5 * time.Second):
		s.t.Fatalf("no NOTIFY containing %q", want)
		return nil
	}
}

func startServer(t *testing.T, opt Options) *Server {
	t.Helper()
	srv, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func TestRegisterNeedsDigest(t *testing.T) {
	srv := startServer(t, Options{})
	c := newSubscriber(t)
	req := c.request(sip.REGISTER, srv.Addr(), "1001", 60)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.client.Do(ctx, req.Clone())
	if err != nil || res.StatusCode != 401 || res.GetHeader("WWW-Authenticate") == nil {
		t.Fatalf("unauthenticated REGISTER: %v %v", res, err)
	}
	bad := c.do(c.request(sip.REGISTER, srv.Addr(), "1001", 60), "1001", "wrong")
	if bad.StatusCode != 401 {
		t.Fatalf("wrong password: %d", bad.StatusCode)
	}
	good := c.do(c.request(sip.REGISTER, srv.Addr(), "1001", 60), "1001", "demo-1001")
	if good.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", good.StatusCode)
	}
	if e := good.GetHeader("Expires"); e == nil || e.Value() != "30" {
		t.Fatalf("granted Expires %v, want 30 (MaxExpires)", e)
	}
	if !srv.Mailboxes()[0].Registered {
		t.Fatal("mailbox not shown registered")
	}
	if r := c.do(c.request(sip.REGISTER, srv.Addr(), "1001", 2), "1001", "demo-1001"); r.StatusCode != 423 || r.GetHeader("Min-Expires") == nil {
		t.Fatalf("too brief: %d", r.StatusCode)
	}
	if r := c.do(c.request(sip.REGISTER, srv.Addr(), "1001", 0), "1001", "demo-1001"); r.StatusCode != 200 || srv.Mailboxes()[0].Registered {
		t.Fatalf("unregister: %d, registered %v", r.StatusCode, srv.Mailboxes()[0].Registered)
	}
	if r := c.do(c.request(sip.REGISTER, srv.Addr(), "9999", 60), "9999", "x"); r.StatusCode != 404 {
		t.Fatalf("unknown user: %d", r.StatusCode)
	}
}

func TestSubscribeNotifyLifecycle(t *testing.T) {
	srv := startServer(t, Options{MaxExpires: 2 * time.Second, MinExpires: time.Second})
	c := newSubscriber(t)
	sub := c.request(sip.SUBSCRIBE, srv.Addr(), "1002", 60)
	res := c.do(sub, "1002", "demo-1002")
	if res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	toTag, _ := res.To().Params.Get("tag")
	if toTag == "" || res.GetHeader("Expires").Value() != "2" {
		t.Fatalf("200 lacks To tag or granted Expires: %v", res)
	}
	n := c.next("Messages-Waiting: no")
	if n.GetHeader("Event").Value() != "message-summary" || !strings.HasPrefix(n.GetHeader("Subscription-State").Value(), "active;expires=") ||
		n.ContentType().Value() != "application/simple-message-summary" {
		t.Fatalf("first NOTIFY headers: %v", n)
	}
	if tag, _ := n.From().Params.Get("tag"); tag != toTag {
		t.Fatalf("NOTIFY From tag %q, want the 200's To tag %q", tag, toTag)
	}
	if err := srv.Leave("1002", true); err != nil {
		t.Fatal(err)
	}
	c.next("Voice-Message: 1/0 (1/0)")
	srv.Leave("1002", false)
	c.next("Voice-Message: 2/0 (1/0)")
	srv.Listen("1002")
	c.next("Messages-Waiting: no\r\nMessage-Account: sip:1002@" + srv.Addr() + "\r\nVoice-Message: 0/2 (0/1)")
	srv.Leave("1001", false) // another mailbox: no NOTIFY here
	select {
	case n := <-c.notify:
		t.Fatalf("NOTIFY for another mailbox: %s", n.Body())
	case <-time.After(100 * time.Millisecond):
	}
	// Refresh in the dialog.
	ref := c.request(sip.SUBSCRIBE, srv.Addr(), "1002", 2)
	ref.From().Params.Add("tag", "")
	ref.ReplaceHeader(sub.From())
	ref.To().Params.Add("tag", toTag)
	ref.AppendHeader(sub.CallID())
	ref.AppendHeader(&sip.CSeqHeader{SeqNo: sub.CSeq().SeqNo + 10, MethodName: sip.SUBSCRIBE})
	if r := c.do(ref, "1002", "demo-1002"); r.StatusCode != 200 {
		t.Fatalf("refresh: %d", r.StatusCode)
	}
	c.next("Voice-Message: 0/2")
	// Not refreshed again: it expires with a terminated NOTIFY.
	n = c.next("Voice-Message: 0/2")
	if st := n.GetHeader("Subscription-State").Value(); st != "terminated;reason=timeout" {
		t.Fatalf("after expiry: Subscription-State %q", st)
	}
	if srv.Mailboxes()[1].Subscriptions != 0 {
		t.Fatal("expired subscription still listed")
	}
	// A refresh of the gone dialog gets 481.
	ref2 := ref.Clone()
	ref2.RemoveHeader("Via")
	ref2.RemoveHeader("Authorization")
	ref2.ReplaceHeader(&sip.CSeqHeader{SeqNo: sub.CSeq().SeqNo + 20, MethodName: sip.SUBSCRIBE})
	if r := c.do(ref2, "1002", "demo-1002"); r.StatusCode != 481 {
		t.Fatalf("refresh of an expired subscription: %d, want 481", r.StatusCode)
	}
}

func TestUnsubscribeAndStop(t *testing.T) {
	srv := startServer(t, Options{})
	c := newSubscriber(t)
	sub := c.request(sip.SUBSCRIBE, srv.Addr(), "1003", 60)
	res := c.do(sub, "1003", "demo-1003")
	if res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	c.next("Messages-Waiting: no")
	toTag, _ := res.To().Params.Get("tag")
	un := c.request(sip.SUBSCRIBE, srv.Addr(), "1003", 0)
	un.ReplaceHeader(sub.From())
	un.To().Params.Add("tag", toTag)
	un.AppendHeader(sub.CallID())
	un.AppendHeader(&sip.CSeqHeader{SeqNo: sub.CSeq().SeqNo + 10, MethodName: sip.SUBSCRIBE})
	if r := c.do(un, "1003", "demo-1003"); r.StatusCode != 200 {
		t.Fatalf("un-SUBSCRIBE: %d", r.StatusCode)
	}
	if st := c.next("Messages-Waiting").GetHeader("Subscription-State").Value(); !strings.HasPrefix(st, "terminated") {
		t.Fatalf("un-subscribe NOTIFY state %q", st)
	}
	if bad := c.do(c.request(sip.SUBSCRIBE, srv.Addr(), "1003", 60), "1003", "demo-1003"); bad.StatusCode != 200 {
		t.Fatalf("re-SUBSCRIBE: %d", bad.StatusCode)
	}
	c.next("Messages-Waiting")
	addr := srv.Addr()
	srv.Stop()
	if srv.Running() || srv.Mailboxes()[2].Subscriptions != 0 {
		t.Fatal("stopped server still running or subscribed")
	}
	srv.Leave("1003", false)
	select {
	case n := <-c.notify:
		t.Fatalf("stopped server sent %s", n.Body())
	case <-time.After(200 * time.Millisecond):
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if _, err := c.client.Do(ctx, c.request(sip.OPTIONS, addr, "1003", 0)); err == nil {
		t.Fatal("stopped server answered OPTIONS")
	}
	if err := srv.Start(); err != nil || srv.Addr() != addr {
		t.Fatalf("restart: %v, addr %s (was %s)", err, srv.Addr(), addr)
	}
	if r := c.do(c.request(sip.SUBSCRIBE, addr, "1003", 60), "1003", "demo-1003"); r.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE after restart: %d", r.StatusCode)
	}
	c.next("Messages-Waiting: yes")
}

func TestBadEvent(t *testing.T) {
	srv := startServer(t, Options{})
	c := newSubscriber(t)
	req := c.request(sip.SUBSCRIBE, srv.Addr(), "1001", 60)
	req.ReplaceHeader(sip.NewHeader("Event", "presence"))
	if r := c.do(req, "1001", "demo-1001"); r.StatusCode != 489 {
		t.Fatalf("Event: presence: %d, want 489", r.StatusCode)
	}
}
