package demo

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/mwi-agent/mwi-agent/agent/internal/latest"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/agent/summary"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// MailboxDef is one demo mailbox and its SIP account.
type MailboxDef struct {
	User     string // SIP user and mailbox number, e.g. "1001"
	Label    string // shown on the display
	Password string
}

// DefaultMailboxes are the three demo mailboxes.
func DefaultMailboxes() []MailboxDef {
	return []MailboxDef{
		{User: "1001", Label: "Desk", Password: "demo-1001"},
		{User: "1002", Label: "Home", Password: "demo-1002"},
		{User: "1003", Label: "Sales", Password: "demo-1003"},
	}
}

// Options configure a Server.
type Options struct {
	Addr       string        // UDP listen address; default "127.0.0.1:0"
	Realm      string        // digest realm; default "mwi-demo"
	MaxExpires time.Duration // longest registration/subscription granted; default 30s so a stopped server is noticed quickly
	MinExpires time.Duration // shorter requests get 423; default 5s
	Mailboxes  []MailboxDef  // default DefaultMailboxes()
	Logger     *slog.Logger
	Clock      clock.Clock // nil: the wall clock (expiries, nonces)
}

// Mailbox is a mailbox's state as the demo page shows it.
type Mailbox struct {
	User          string `json:"user"`
	Label         string `json:"label"`
	New           uint32 `json:"new"`
	Old           uint32 `json:"old"`
	UrgentNew     uint32 `json:"urgent_new"`
	UrgentOld     uint32 `json:"urgent_old"`
	Registered    bool   `json:"registered"`
	Subscriptions int    `json:"subscriptions"`
	Notifies      int    `json:"notifies"` // NOTIFYs answered 2xx
}

type mailbox struct {
	def                            MailboxDef
	new, old, urgentNew, urgentOld uint32
	regContact                     string
	regExpires                     time.Time
	notifies                       int
}

type subscription struct {
	id      string
	user    string
	callID  string
	local   sip.Uri // our URI (the To of the SUBSCRIBE)
	toTag   string  // ours
	remote  sip.Uri // their From
	fromTag string  // theirs
	contact sip.Uri // where NOTIFYs go
	expires time.Time
	cseq    uint32
	stop    func() bool // the expiry timer
	sendMu  sync.Mutex  // one NOTIFY at a time, in order
	gone    bool
}

// Server is the demo voicemail server.
type Server struct {
	opt Options
	log *slog.Logger
	clk clock.Clock

	mu      sync.Mutex
	boxes   map[string]*mailbox
	order   []string
	subs    map[string]*subscription
	nonces  map[string]time.Time
	running bool
	addr    string
	stop    func() // stops the serving generation
	gen     int
	client  *sipgo.Client
	subsWG  sync.WaitGroup
	changes latest.Signal
}

// New returns a stopped server; call Start (and Stop or Close).
func New(opt Options) (*Server, error) {
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:0"
	}
	if opt.Realm == "" {
		opt.Realm = "mwi-demo"
	}
	if opt.MaxExpires <= 0 {
		opt.MaxExpires = 30 * time.Second
	}
	if opt.MinExpires <= 0 {
		opt.MinExpires = 5 * time.Second
	}
	if opt.Mailboxes == nil {
		opt.Mailboxes = DefaultMailboxes()
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opt: opt, log: opt.Logger, clk: clock.Or(opt.Clock), boxes: map[string]*mailbox{}, subs: map[string]*subscription{},
		nonces: map[string]time.Time{}}
	for _, d := range opt.Mailboxes {
		if d.User == "" || d.Password == "" {
			return nil, fmt.Errorf("demo: mailbox %q: user and password required", d.User)
		}
		if _, dup := s.boxes[d.User]; dup {
			return nil, fmt.Errorf("demo: mailbox %q defined twice", d.User)
		}
		s.boxes[d.User] = &mailbox{def: d}
		s.order = append(s.order, d.User)
	}
	return s, nil
}

// Addr is the UDP address the server listens on (after the first Start;
// kept across Stop so Start reuses the port).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Running reports whether the server is serving.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// Start listens and serves. After a Stop it listens on the same address.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil
	}
	addr := s.opt.Addr
	if s.addr != "" {
		addr = s.addr
	}
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("demo: listen: %w", err)
	}
	local := conn.LocalAddr().String()
	host, portStr, _ := net.SplitHostPort(local)
	port, _ := strconv.Atoi(portStr)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("mwi-agent-demo-voicemail"), sipgo.WithUserAgentHostname(host))
	if err != nil {
		conn.Close()
		return fmt.Errorf("demo: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(s.log))
	if err != nil {
		ua.Close()
		conn.Close()
		return fmt.Errorf("demo: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(port),
		sipgo.WithClientConnectionAddr(local), sipgo.WithClientLogger(s.log))
	if err != nil {
		ua.Close()
		conn.Close()
		return fmt.Errorf("demo: %w", err)
	}
	s.gen++
	gen := s.gen
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) { s.onRegister(gen, req, tx) })
	srv.OnSubscribe(func(req *sip.Request, tx sip.ServerTransaction) { s.onSubscribe(gen, req, tx) })
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeUDP(conn)
	}()
	waitListening(ua, local)
	s.stop = func() {
		conn.Close()
		ua.Close()
		<-done
	}
	s.client = client
	s.addr = local
	s.running = true
	s.log.Info("demo voicemail server listening", "addr", local)
	s.notifyChangeLocked()
	return nil
}

// Stop closes the socket and forgets every registration and subscription
// without sending anything, as a crashed server would.
func (s *Server) Stop() {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return
	}
	stop := s.stop
	s.running = false
	s.gen++
	s.client = nil
	for id, sub := range s.subs {
		sub.gone = true
		if sub.stop != nil {
			sub.stop()
		}
		delete(s.subs, id)
	}
	for _, b := range s.boxes {
		b.regContact, b.regExpires = "", time.Time{}
	}
	s.notifyChangeLocked()
	s.mu.Unlock()
	stop()
	s.log.Info("demo voicemail server stopped")
}

// Close stops the server and waits for NOTIFYs in flight.
func (s *Server) Close() error {
	s.Stop()
	s.subsWG.Wait()
	return nil
}

// Changes returns a channel told (coalesced) about every change of
// mailboxes, registrations or subscriptions, and a cancel function.
func (s *Server) Changes() (<-chan struct{}, func()) { return s.changes.Subscribe() }

// notifyChangeLocked tells the watchers (latest.Signal never blocks, so
// it may run under s.mu).
func (s *Server) notifyChangeLocked() { s.changes.Notify() }

// Mailboxes returns every mailbox's state in definition order.
func (s *Server) Mailboxes() []Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	out := make([]Mailbox, 0, len(s.order))
	for _, u := range s.order {
		b := s.boxes[u]
		m := Mailbox{User: u, Label: b.def.Label, New: b.new, Old: b.old, UrgentNew: b.urgentNew, UrgentOld: b.urgentOld,
			Registered: b.regContact != "" && now.Before(b.regExpires), Notifies: b.notifies}
		for _, sub := range s.subs {
			if sub.user == u {
				m.Subscriptions++
			}
		}
		out = append(out, m)
	}
	return out
}

// Leave deposits a new voicemail.
func (s *Server) Leave(user string, urgent bool) error {
	return s.change(user, func(b *mailbox) {
		b.new++
		if urgent {
			b.urgentNew++
		}
	})
}

// Listen marks every new message in the mailbox read.
func (s *Server) Listen(user string) error {
	return s.change(user, func(b *mailbox) {
		b.old += b.new
		b.urgentOld += b.urgentNew
		b.new, b.urgentNew = 0, 0
	})
}

// Delete removes every message in the mailbox.
func (s *Server) Delete(user string) error {
	return s.change(user, func(b *mailbox) { b.new, b.old, b.urgentNew, b.urgentOld = 0, 0, 0, 0 })
}

// ErrNoMailbox is returned for an unknown mailbox.
var ErrNoMailbox = errors.New("demo: no such mailbox")

func (s *Server) change(user string, f func(*mailbox)) error {
	s.mu.Lock()
	b, ok := s.boxes[user]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNoMailbox, user)
	}
	f(b)
	var subs []*subscription
	for _, sub := range s.subs {
		if sub.user == user {
			subs = append(subs, sub)
		}
	}
	s.notifyChangeLocked()
	s.mu.Unlock()
	for _, sub := range subs {
		s.sendNotify(sub, false)
	}
	return nil
}

// Body returns the RFC 3842 message-summary body of a mailbox.
func (s *Server) Body(user string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.boxes[user]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoMailbox, user)
	}
	return s.bodyLocked(b), nil
}

// bodyLocked is the mailbox's message-summary body (RFC 3842), written by
// the same summary.Format the agent's tests parse it with.
func (s *Server) bodyLocked(b *mailbox) []byte {
	w := summary.WaitingNo
	if b.new > 0 {
		w = summary.WaitingYes
	}
	return summary.Format(summary.Summary{Waiting: w, Account: "sip:" + b.def.User + "@" + s.addr,
		Classes: map[string]state.Counts{state.ClassVoice: {New: b.new, Old: b.old, UrgentNew: b.urgentNew, UrgentOld: b.urgentOld}}})
}

// ---- digest authentication -------------------------------------------------

func (s *Server) newNonceLocked() string {
	var buf [16]byte
	rand.Read(buf[:])
	n := hex.EncodeToString(buf[:])
	now := s.clk.Now()
	for k, t := range s.nonces {
		if now.Sub(t) > 10*time.Minute {
			delete(s.nonces, k)
		}
	}
	s.nonces[n] = now
	return n
}

func md5hex(parts ...string) string {
	h := md5.Sum([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h[:])
}

// authenticate checks the request's Authorization for user. On failure it
// answers 401 with a fresh challenge (stale=true for an old nonce) and
// returns false.
func (s *Server) authenticate(req *sip.Request, tx sip.ServerTransaction, user string) bool {
	s.mu.Lock()
	b := s.boxes[user]
	s.mu.Unlock()
	stale := false
	if h := req.GetHeader("Authorization"); h != nil && b != nil {
		cred, err := digest.ParseCredentials(h.Value())
		if err == nil {
			s.mu.Lock()
			issued, known := s.nonces[cred.Nonce]
			s.mu.Unlock()
			ha1 := md5hex(cred.Username, s.opt.Realm, b.def.Password)
			ha2 := md5hex(string(req.Method), cred.URI)
			var want string
			if cred.QOP != "" {
				want = md5hex(ha1, cred.Nonce, fmt.Sprintf("%08x", cred.Nc), cred.Cnonce, cred.QOP, ha2)
			} else {
				want = md5hex(ha1, cred.Nonce, ha2)
			}
			switch {
			case cred.Username != user || cred.Realm != s.opt.Realm || cred.Response != want:
				s.log.Info("demo: digest mismatch", "user", user, "auth_user", cred.Username)
			case !known || s.clk.Now().Sub(issued) > 10*time.Minute:
				stale = true
			default:
				return true
			}
		}
	}
	s.mu.Lock()
	chal := digest.Challenge{Realm: s.opt.Realm, Nonce: s.newNonceLocked(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	s.mu.Unlock()
	res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
	res.AppendHeader(sip.NewHeader("WWW-Authenticate", chal.String()))
	tx.Respond(res)
	return false
}

// requestedExpires reads Expires (header, or the Contact's expires param).
func requestedExpires(req *sip.Request, def time.Duration) time.Duration {
	if c := req.Contact(); c != nil {
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return def
}

func (s *Server) grant(req *sip.Request, tx sip.ServerTransaction, want time.Duration) (time.Duration, bool) {
	if want > 0 && want < s.opt.MinExpires {
		res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(s.opt.MinExpires/time.Second))))
		tx.Respond(res)
		return 0, false
	}
	return min(want, s.opt.MaxExpires), true
}

func (s *Server) current(gen int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running && s.gen == gen
}

// ---- REGISTER -------------------------------------------------------------

// admit runs the checks REGISTER and SUBSCRIBE share: the mailbox exists
// (else 404), the digest credentials are right (else a challenge), and the
// requested expiry can be granted (else 423). It has answered the request
// when it returns false.
func (s *Server) admit(req *sip.Request, tx sip.ServerTransaction, user string) (time.Duration, bool) {
	s.mu.Lock()
	_, ok := s.boxes[user]
	s.mu.Unlock()
	if !ok {
		tx.Respond(sip.NewResponseFromRequest(req, 404, "Not Found", nil))
		return 0, false
	}
	if !s.authenticate(req, tx, user) {
		return 0, false
	}
	return s.grant(req, tx, requestedExpires(req, time.Hour))
}

func (s *Server) onRegister(gen int, req *sip.Request, tx sip.ServerTransaction) {
	if !s.current(gen) {
		return
	}
	user := req.To().Address.User
	exp, ok := s.admit(req, tx, user)
	if !ok {
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	s.mu.Lock()
	b := s.boxes[user]
	c := req.Contact()
	switch {
	case c == nil: // query
	case exp == 0 || c.Address.Wildcard:
		b.regContact, b.regExpires = "", time.Time{}
	default:
		b.regContact, b.regExpires = c.Address.String(), s.clk.Now().Add(exp)
	}
	if b.regContact != "" {
		ch := sip.ContactHeader{Address: *c.Address.Clone()}
		ch.Params = sip.NewParams()
		ch.Params.Add("expires", strconv.Itoa(int(exp/time.Second)))
		res.AppendHeader(&ch)
	}
	s.notifyChangeLocked()
	s.mu.Unlock()
	e := sip.ExpiresHeader(exp / time.Second)
	res.AppendHeader(&e)
	tx.Respond(res)
	s.log.Info("demo: REGISTER", "user", user, "expires", exp)
}

// ---- SUBSCRIBE / NOTIFY ----------------------------------------------------

func (s *Server) onSubscribe(gen int, req *sip.Request, tx sip.ServerTransaction) {
	if !s.current(gen) {
		return
	}
	if ev := req.GetHeader("Event"); ev == nil || !strings.EqualFold(strings.TrimSpace(strings.SplitN(ev.Value(), ";", 2)[0]), "message-summary") {
		res := sip.NewResponseFromRequest(req, 489, "Bad Event", nil)
		res.AppendHeader(sip.NewHeader("Allow-Events", "message-summary"))
		tx.Respond(res)
		return
	}
	if a := req.GetHeader("Accept"); a != nil && !strings.Contains(strings.ToLower(a.Value()), "application/simple-message-summary") {
		tx.Respond(sip.NewResponseFromRequest(req, 406, "Not Acceptable", nil))
		return
	}
	user := req.Recipient.User
	exp, ok := s.admit(req, tx, user)
	if !ok {
		return
	}
	callID := req.CallID().Value()
	fromTag, _ := req.From().Params.Get("tag")
	toTag, hasTo := req.To().Params.Get("tag")

	s.mu.Lock()
	var sub *subscription
	if hasTo && toTag != "" {
		sub = s.subs[callID+"|"+fromTag+"|"+toTag]
		if sub == nil {
			s.mu.Unlock()
			tx.Respond(sip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
			return
		}
	} else {
		if req.Contact() == nil {
			s.mu.Unlock()
			tx.Respond(sip.NewResponseFromRequest(req, 400, "Missing Contact", nil))
			return
		}
		toTag = sip.GenerateTagN(12)
		sub = &subscription{id: callID + "|" + fromTag + "|" + toTag, user: user, callID: callID, toTag: toTag, fromTag: fromTag,
			local: *req.To().Address.Clone(), remote: *req.From().Address.Clone(), cseq: 1}
		s.subs[sub.id] = sub
	}
	if c := req.Contact(); c != nil {
		sub.contact = *c.Address.Clone()
	}
	terminated := exp == 0
	if terminated {
		sub.gone = true
		delete(s.subs, sub.id)
		if sub.stop != nil {
			sub.stop()
		}
	} else {
		sub.expires = s.clk.Now().Add(exp)
		if sub.stop != nil {
			sub.stop()
		}
		sub.stop = s.clk.AfterFunc(exp, func() { s.expire(sub) })
	}
	s.notifyChangeLocked()
	s.mu.Unlock()

	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if t := res.To(); t != nil {
		t.Params.Add("tag", toTag)
	}
	e := sip.ExpiresHeader(exp / time.Second)
	res.AppendHeader(&e)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: req.Recipient.Host, Port: req.Recipient.Port}})
	tx.Respond(res)
	s.log.Info("demo: SUBSCRIBE", "user", user, "expires", exp, "dialog", sub.id)
	go s.sendNotify(sub, terminated)
}

// expire ends a subscription that was not refreshed in time.
func (s *Server) expire(sub *subscription) {
	s.mu.Lock()
	if sub.gone || s.clk.Now().Before(sub.expires) {
		s.mu.Unlock()
		return
	}
	sub.gone = true
	delete(s.subs, sub.id)
	s.notifyChangeLocked()
	s.mu.Unlock()
	s.log.Info("demo: subscription expired", "user", sub.user)
	s.sendNotify(sub, true)
}

// sendNotify sends the mailbox's current state to one subscription;
// terminal says it is the last NOTIFY (terminated;reason=timeout).
func (s *Server) sendNotify(sub *subscription, terminal bool) {
	s.subsWG.Add(1)
	defer s.subsWG.Done()
	sub.sendMu.Lock()
	defer sub.sendMu.Unlock()

	s.mu.Lock()
	if (sub.gone && !terminal) || !s.running || s.client == nil {
		s.mu.Unlock()
		return
	}
	client := s.client
	body := s.bodyLocked(s.boxes[sub.user])
	state := fmt.Sprintf("active;expires=%d", max(0, int(sub.expires.Sub(s.clk.Now()).Round(time.Second)/time.Second)))
	if terminal {
		state = "terminated;reason=timeout"
	}
	sub.cseq++
	cseq := sub.cseq
	s.mu.Unlock()

	req := sip.NewRequest(sip.NOTIFY, *sub.contact.Clone())
	from := &sip.FromHeader{Address: *sub.local.Clone(), Params: sip.NewParams()}
	from.Params.Add("tag", sub.toTag)
	to := &sip.ToHeader{Address: *sub.remote.Clone(), Params: sip.NewParams()}
	to.Params.Add("tag", sub.fromTag)
	cid := sip.CallIDHeader(sub.callID)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.NOTIFY})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: sub.user, Host: sub.local.Host, Port: sub.local.Port}})
	req.AppendHeader(sip.NewHeader("Event", "message-summary"))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	ct := sip.ContentTypeHeader("application/simple-message-summary")
	req.AppendHeader(&ct)
	req.SetBody(body)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := client.Do(ctx, req)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil || res == nil: // sipgo answers (nil, nil) when the transaction ends with the stopped server
		s.log.Info("demo: NOTIFY failed; dropping subscription", "user", sub.user, "err", err)
		s.dropLocked(sub)
	case res.StatusCode == 481 || res.StatusCode >= 400 && res.StatusCode != 408 && res.StatusCode < 500 && res.StatusCode != 401:
		s.log.Info("demo: NOTIFY refused; dropping subscription", "user", sub.user, "status", res.StatusCode)
		s.dropLocked(sub)
	case res.StatusCode >= 200 && res.StatusCode < 300:
		if b := s.boxes[sub.user]; b != nil {
			b.notifies++
		}
		s.notifyChangeLocked()
	}
}

func (s *Server) dropLocked(sub *subscription) {
	if !sub.gone {
		sub.gone = true
		if sub.stop != nil {
			sub.stop()
		}
		delete(s.subs, sub.id)
		s.notifyChangeLocked()
	}
}

// Users returns the mailbox users in order.
func (s *Server) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// Def returns a mailbox's definition.
func (s *Server) Def(user string) (MailboxDef, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.boxes[user]
	if !ok {
		return MailboxDef{}, false
	}
	return b.def, true
}

// waitListening waits (at most a second) until sipgo has registered the
// listener in its connection pool, so requests can be sent from it.
func waitListening(ua *sipgo.UserAgent, local string) {
	for i := 0; i < 100; i++ {
		if c, err := ua.TransportLayer().GetConnection("udp", local); err == nil && c != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
