package sipua

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Request building: every request the worker sends is made here. Contact
// is added last (addContact), once the local address is known: for TCP and
// TLS it is the connection's.

// registerRequest is a REGISTER in the registration's Call-ID with the next
// CSeq and credentials for the known challenge, if any.
func (a *account) registerRequest(expires time.Duration, cseq uint32) *sip.Request {
	l := &a.reg
	req := sip.NewRequest(sip.REGISTER, a.cfg.AOR.registrar())
	a.baseHeaders(req, a.aorURI(), l.localTag, "", l.callID, cseq)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.SetDestination(a.dest)
	a.addRoutes(req, nil)
	if err := l.auth.apply(req, a.cfg.Username, a.cfg.Password); err != nil {
		a.log().Warn("sipua: register", "err", err)
	}
	return req
}

// subscribeRequest is a SUBSCRIBE: in the dialog (remote target, route
// set, To-tag) once it is confirmed, else out of dialog to the mailbox.
func (a *account) subscribeRequest(expires time.Duration, cseq uint32) *sip.Request {
	l, d := &a.sub, &a.dlg
	to := a.mailbox().bare()
	var req *sip.Request
	if d.confirmed {
		req = sip.NewRequest(sip.SUBSCRIBE, a.remoteTargetURI())
		a.baseHeaders(req, to, l.localTag, d.remoteTag, l.callID, cseq)
		if len(d.routeSet) == 0 && a.cfg.Proxy != "" {
			req.SetDestination(a.dest)
		}
		a.addRoutes(req, d.routeSet)
	} else {
		req = sip.NewRequest(sip.SUBSCRIBE, a.mailbox().sip())
		a.baseHeaders(req, to, l.localTag, "", l.callID, cseq)
		req.SetDestination(a.dest)
		a.addRoutes(req, nil)
	}
	req.AppendHeader(sip.NewHeader("Event", "message-summary"))
	req.AppendHeader(sip.NewHeader("Accept", "application/simple-message-summary"))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	l.auth.seedFrom(&a.reg.auth, "SUBSCRIBE")
	if err := l.auth.apply(req, a.cfg.Username, a.cfg.Password); err != nil {
		a.log().Warn("sipua: subscribe", "err", err)
	}
	return req
}

// remoteTargetURI is the dialog's remote target: the notifier's Contact
// (kept as text, parsed for the in-dialog SUBSCRIBE), else the mailbox.
func (a *account) remoteTargetURI() sip.Uri {
	if t := a.dlg.remoteTarget; t != "" {
		var u sip.Uri
		if err := sip.ParseUri(t, &u); err == nil {
			return u
		}
		a.log().Warn("sipua: remote target unusable, subscribing to the mailbox", "target", t)
	}
	return a.mailbox().sip()
}

func (a *account) aorURI() sip.Uri { return a.cfg.AOR.bare() }

// mailbox is what the account subscribes to: the mailbox URI, else the AOR.
func (a *account) mailbox() URI {
	if a.cfg.Mailbox == nil {
		return a.cfg.AOR
	}
	return *a.cfg.Mailbox
}

// URI is a SIP URI as the configuration typed it (config.Resolve parsed
// it once; sipua never parses the configuration's strings again).
type URI struct {
	Secure    bool   // sips:
	User      string // "" for none
	Host      string // name or address, IPv6 in brackets
	Port      int    // 0: none
	Transport string // the transport= parameter, lower case ("" = none)
}

// bare is the URI in sipgo's form without parameters.
func (u URI) bare() sip.Uri {
	s := sip.Uri{Scheme: "sip", User: u.User, Host: u.Host, Port: u.Port}
	if u.Secure {
		s.Scheme = "sips"
	}
	return s
}

// sip is the URI in sipgo's form, with its transport= parameter.
func (u URI) sip() sip.Uri {
	s := u.bare()
	if u.Transport != "" {
		s.UriParams = sip.NewParams()
		s.UriParams.Add("transport", u.Transport)
	}
	return s
}

// registrar is the REGISTER Request-URI: the AOR's domain.
func (u URI) registrar() sip.Uri { return sip.Uri{Scheme: u.bare().Scheme, Host: u.Host, Port: u.Port} }

// String is the URI as text (logs, tests).
func (u URI) String() string {
	s := u.sip()
	return s.String()
}

// baseHeaders adds Via (fresh branch), From, To, Call-ID, CSeq,
// Max-Forwards, User-Agent.
func (a *account) baseHeaders(req *sip.Request, to sip.Uri, fromTag, toTag, callID string, cseq uint32) {
	tp := strings.ToUpper(a.network)
	req.SetTransport(tp)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: tp, Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranchN(16))
	via.Params.Add("rport", "")
	if a.network == "udp" {
		a.ensureUDPContact()
		via.Host, via.Port = a.contact.Host, a.contact.Port
	}
	req.AppendHeader(via)
	from := &sip.FromHeader{Address: a.aorURI(), Params: sip.NewParams()}
	from.Params.Add("tag", fromTag)
	req.AppendHeader(from)
	toH := &sip.ToHeader{Address: to, Params: sip.NewParams()}
	if toTag != "" {
		toH.Params.Add("tag", toTag)
	}
	req.AppendHeader(toH)
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: req.Method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("User-Agent", a.u.opts.UserAgent))
}

// ensureUDPContact picks the Contact address for UDP: the listener's
// address, with the local IP toward the server when it listens on any.
func (a *account) ensureUDPContact() {
	if a.contact.Host != "" || a.u.udp == nil {
		return
	}
	la := a.u.udp.LocalAddr().(*net.UDPAddr)
	ip := la.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
		// The local address toward the server's resolved address (from
		// the cache: no DNS here; "dialling" UDP sends nothing).
		if aps, ok := a.destAddrs(); ok {
			if c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(aps[0])); err == nil {
				ip = c.LocalAddr().(*net.UDPAddr).IP
				c.Close()
			}
		}
	}
	a.contact = hostPort{ip.String(), la.Port}
}

// addContact adds our Contact (with ;transport= for TCP and TLS) as the
// last step of building a request.
func addContact(req *sip.Request, network string, contact sip.Uri) {
	ch := &sip.ContactHeader{Address: contact}
	if network != "udp" {
		ch.Address.UriParams = sip.NewParams()
		ch.Address.UriParams.Add("transport", network)
	}
	req.AppendHeader(ch)
	req.SetBody(nil)
}
