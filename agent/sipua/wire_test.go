package sipua

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// checkWire is the wire-validity check of a request the agent sent: it
// must survive a round trip through sipgo's parser, and its Request-URI,
// Via, From, To and Contact must name a host; the Contact must be one a
// server can send to (an IP address that is not unspecified or multicast,
// a port, ;transport= on TCP/TLS; optional on OPTIONS). Every request the
// in-process tests' servers receive goes through it (pbx.record: REGISTER,
// SUBSCRIBE and the liveness OPTIONS; the property test's fake server).
func checkWire(req *sip.Request) error {
	raw := req.String()
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		return fmt.Errorf("does not parse back: %v\n%s", err, raw)
	}
	r, ok := m.(*sip.Request)
	if !ok {
		return fmt.Errorf("parses back as a response\n%s", raw)
	}
	var bad []string
	if !validHost(r.Recipient.Host) {
		bad = append(bad, "Request-URI without host")
	}
	if v := r.Via(); v == nil || !validHost(v.Host) {
		bad = append(bad, "Via without sent-by host")
	}
	if f := r.From(); f == nil || !validHost(f.Address.Host) {
		bad = append(bad, "From without host")
	} else if tag, _ := f.Params.Get("tag"); tag == "" {
		bad = append(bad, "From without tag")
	}
	if t := r.To(); t == nil || !validHost(t.Address.Host) {
		bad = append(bad, "To without host")
	}
	if r.CallID() == nil || r.CallID().Value() == "" {
		bad = append(bad, "no Call-ID")
	}
	if c := r.CSeq(); c == nil || c.MethodName != r.Method {
		bad = append(bad, "CSeq method does not match")
	}
	switch c := r.Contact(); {
	case c == nil && (r.Method == sip.REGISTER || r.Method == sip.SUBSCRIBE):
		bad = append(bad, "no Contact")
	case c == nil: // OPTIONS: Contact optional (RFC 3261 11.1)
	case !validHost(c.Address.Host):
		bad = append(bad, "Contact without host")
	default:
		ip, err := netip.ParseAddr(strings.Trim(c.Address.Host, "[]"))
		switch {
		case err != nil:
			bad = append(bad, "Contact host "+c.Address.Host+" is not an IP address")
		case ip.IsUnspecified() || ip.IsMulticast():
			bad = append(bad, "Contact host "+c.Address.Host+" is not reachable")
		}
		if c.Address.Port <= 0 || c.Address.Port > 65535 {
			bad = append(bad, fmt.Sprintf("Contact port %d", c.Address.Port))
		}
		if tp := strings.ToLower(r.Transport()); tp != "udp" {
			if got, _ := c.Address.UriParams.Get("transport"); !strings.EqualFold(got, tp) {
				bad = append(bad, "Contact without ;transport="+tp)
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s\n%s", strings.Join(bad, "; "), raw)
	}
	return nil
}

// validHost: a name or an IP literal (sipgo's parser reads "Via: SIP/2.0/UDP
// :5060" as host ":5060").
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if strings.HasPrefix(h, "[") {
		_, err := netip.ParseAddr(strings.Trim(h, "[]"))
		return err == nil
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for _, c := range h {
		if !(c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// The check catches what it is for: the Contact: <sip:> the first
// REGISTER used to carry, and a Via without a host.
func TestCheckWire(t *testing.T) {
	build := func(contact sip.Uri, viaHost string) *sip.Request {
		req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "pbx.example"})
		via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: viaHost, Port: 5060, Params: sip.NewParams()}
		via.Params.Add("branch", sip.GenerateBranchN(16))
		req.AppendHeader(via)
		from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "1001", Host: "pbx.example"}, Params: sip.NewParams()}
		from.Params.Add("tag", "abc")
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "1001", Host: "pbx.example"}, Params: sip.NewParams()})
		cid := sip.CallIDHeader("x")
		req.AppendHeader(&cid)
		req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.REGISTER})
		req.AppendHeader(&sip.ContactHeader{Address: contact})
		return req
	}
	good := sip.Uri{Scheme: "sip", User: "1001", Host: "192.0.2.1", Port: 5060}
	if err := checkWire(build(good, "192.0.2.1")); err != nil {
		t.Errorf("valid request refused: %v", err)
	}
	for name, req := range map[string]*sip.Request{
		"Contact <sip:>":       build(sip.Uri{Scheme: "sip"}, "192.0.2.1"),
		"Contact 0.0.0.0":      build(sip.Uri{Scheme: "sip", Host: "0.0.0.0", Port: 5060}, "192.0.2.1"),
		"Contact without port": build(sip.Uri{Scheme: "sip", Host: "192.0.2.1"}, "192.0.2.1"),
		"Via without host":     build(good, ""),
	} {
		if err := checkWire(req); err == nil {
			t.Errorf("%s: not caught", name)
		}
	}
}
