package locate

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// The DNS messages are built and parsed with golang.org/x/net/dns/dnsmessage
// (the package the standard library's resolver vendors). It knows SRV, A
// and AAAA; NAPTR (RFC 3403) comes as an unknown type's raw data and is
// decoded by parseNAPTR.

// typeNAPTR is the NAPTR record type (RFC 3403).
const typeNAPTR dnsmessage.Type = 35

// maxUDP is the largest UDP answer read (no EDNS0 is offered, so a
// conforming server sends at most 512 bytes and sets TC beyond).
const maxUDP = 4096

// NAPTR is a NAPTR record (RFC 3403 section 4.1).
type NAPTR struct {
	Order, Preference      uint16
	Flags, Service, Regexp string
	Replacement            string // a fully qualified name ("." for none)
	TTL                    uint32
}

// SRV is an SRV record (RFC 2782).
type SRV struct {
	Priority, Weight, Port uint16
	Target                 string // fully qualified ("." = decidedly not available)
	TTL                    uint32
}

// answer is the part of a DNS answer locate uses: the answer section's
// records of the asked type (whatever their owner name, so the records
// after a CNAME count too).
type answer struct {
	naptr []NAPTR
	srv   []SRV
	addrs []netip.Addr
	ttls  []uint32 // of addrs
}

func (a *answer) empty() bool { return len(a.naptr)+len(a.srv)+len(a.addrs) == 0 }

func typeName(t dnsmessage.Type) string {
	switch t {
	case typeNAPTR:
		return "NAPTR"
	case dnsmessage.TypeSRV:
		return "SRV"
	case dnsmessage.TypeA:
		return "A"
	case dnsmessage.TypeAAAA:
		return "AAAA"
	}
	return fmt.Sprintf("TYPE%d", t)
}

// rcodeName names the answer codes RFC 1035 defines.
func rcodeName(r dnsmessage.RCode) string {
	switch r {
	case dnsmessage.RCodeFormatError:
		return "FORMERR"
	case dnsmessage.RCodeServerFailure:
		return "SERVFAIL"
	case dnsmessage.RCodeNameError:
		return "NXDOMAIN"
	case dnsmessage.RCodeNotImplemented:
		return "NOTIMP"
	case dnsmessage.RCodeRefused:
		return "REFUSED"
	}
	return fmt.Sprintf("RCODE%d", r)
}

// fqdn adds the final dot.
func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// buildQuery makes a recursive query for name and qtype with the given id.
func buildQuery(id uint16, name string, qtype dnsmessage.Type) ([]byte, error) {
	n, err := dnsmessage.NewName(fqdn(name))
	if err != nil {
		return nil, fmt.Errorf("locate: %q: %w", name, err)
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{ID: id, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: qtype, Class: dnsmessage.ClassINET}); err != nil {
		return nil, fmt.Errorf("locate: %q: %w", name, err)
	}
	return b.Finish()
}

// errMismatch: a message that is not the answer to our query (another id
// or question); on UDP it is ignored and the wait goes on.
var errMismatch = errors.New("not the answer to the query")

// parseAnswer checks that msg answers the query (id, question) and returns
// its header and the answer records of type qtype. Records of other types
// are skipped; a record of the asked type that does not parse is an error
// for the whole message (the server is broken or the message was cut).
func parseAnswer(msg []byte, id uint16, name string, qtype dnsmessage.Type) (dnsmessage.Header, answer, error) {
	h, a, err := parseRecords(msg, id, name, qtype)
	if err != nil {
		return h, answer{}, err
	}
	return h, a, nil
}

func parseRecords(msg []byte, id uint16, name string, qtype dnsmessage.Type) (dnsmessage.Header, answer, error) {
	var p dnsmessage.Parser
	var a answer
	h, err := p.Start(msg)
	if err != nil {
		return h, a, err
	}
	if h.ID != id || !h.Response {
		return h, a, errMismatch
	}
	q, err := p.Question()
	if err != nil {
		return h, a, errMismatch
	}
	if q.Type != qtype || q.Class != dnsmessage.ClassINET || !strings.EqualFold(q.Name.String(), fqdn(name)) {
		return h, a, errMismatch
	}
	if h.Truncated {
		return h, a, nil
	}
	if err := p.SkipAllQuestions(); err != nil {
		return h, a, err
	}
	for {
		rh, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return h, a, nil
		}
		if err != nil {
			return h, a, err
		}
		if rh.Type != qtype || rh.Class != dnsmessage.ClassINET {
			if err := p.SkipAnswer(); err != nil {
				return h, a, err
			}
			continue
		}
		switch qtype {
		case typeNAPTR:
			r, err := p.UnknownResource()
			if err != nil {
				return h, a, err
			}
			n, err := parseNAPTR(r.Data)
			if err != nil {
				return h, a, err
			}
			n.TTL = rh.TTL
			a.naptr = append(a.naptr, n)
		case dnsmessage.TypeSRV:
			r, err := p.SRVResource()
			if err != nil {
				return h, a, err
			}
			a.srv = append(a.srv, SRV{Priority: r.Priority, Weight: r.Weight, Port: r.Port, Target: r.Target.String(), TTL: rh.TTL})
		case dnsmessage.TypeA:
			r, err := p.AResource()
			if err != nil {
				return h, a, err
			}
			a.addrs, a.ttls = append(a.addrs, netip.AddrFrom4(r.A)), append(a.ttls, rh.TTL)
		case dnsmessage.TypeAAAA:
			r, err := p.AAAAResource()
			if err != nil {
				return h, a, err
			}
			a.addrs, a.ttls = append(a.addrs, netip.AddrFrom16(r.AAAA).Unmap()), append(a.ttls, rh.TTL)
		default:
			if err := p.SkipAnswer(); err != nil {
				return h, a, err
			}
		}
	}
}

// parseNAPTR decodes a NAPTR record's data (RFC 3403 section 4.1): ORDER
// and PREFERENCE (16 bits each), FLAGS, SERVICES and REGEXP
// (<character-string>s: a length byte and that many bytes) and
// REPLACEMENT, a domain name that must not be compressed (RFC 3403
// section 4.1, RFC 3597 section 4). The name is returned fully qualified;
// a label holding a dot, or longer than 63 bytes, or a name longer than
// 255 bytes, or trailing bytes are errors.
func parseNAPTR(b []byte) (NAPTR, error) {
	var n NAPTR
	if len(b) < 4 {
		return n, errors.New("locate: NAPTR: short record")
	}
	n.Order, n.Preference = binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	b = b[4:]
	for _, s := range []*string{&n.Flags, &n.Service, &n.Regexp} {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return n, errors.New("locate: NAPTR: short character-string")
		}
		*s, b = string(b[1:1+int(b[0])]), b[1+int(b[0]):]
	}
	var name strings.Builder
	wire := 0
	for {
		if len(b) < 1 {
			return n, errors.New("locate: NAPTR: replacement: short name")
		}
		l := int(b[0])
		wire += 1 + l
		if wire > 255 {
			return n, errors.New("locate: NAPTR: replacement: name longer than 255 bytes")
		}
		if l == 0 {
			b = b[1:]
			break
		}
		if l > 63 {
			return n, fmt.Errorf("locate: NAPTR: replacement: label type 0x%02x (compressed or extended; not allowed here)", l&0xc0)
		}
		if len(b) < 1+l {
			return n, errors.New("locate: NAPTR: replacement: short label")
		}
		label := b[1 : 1+l]
		if strings.IndexByte(string(label), '.') >= 0 {
			return n, fmt.Errorf("locate: NAPTR: replacement: label %q holds a dot", label)
		}
		name.Write(label)
		name.WriteByte('.')
		b = b[1+l:]
	}
	if len(b) != 0 {
		return n, fmt.Errorf("locate: NAPTR: %d bytes after the replacement", len(b))
	}
	n.Replacement = name.String()
	if n.Replacement == "" {
		n.Replacement = "."
	}
	return n, nil
}

// exchange sends one query to server (host:port) and returns the answer:
// over UDP, and again over TCP when the UDP answer was truncated.
func (r *Resolver) exchange(ctx context.Context, server, name string, qtype dnsmessage.Type) (dnsmessage.Header, answer, error) {
	id := uint16(rand.Uint32())
	q, err := buildQuery(id, name, qtype)
	if err != nil {
		return dnsmessage.Header{}, answer{}, err
	}
	h, a, err := r.exchangeOn(ctx, "udp", server, q, id, name, qtype)
	if err == nil && h.Truncated {
		return r.exchangeOn(ctx, "tcp", server, q, id, name, qtype)
	}
	return h, a, err
}

func (r *Resolver) exchangeOn(ctx context.Context, network, server string, q []byte, id uint16, name string, qtype dnsmessage.Type) (dnsmessage.Header, answer, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, server)
	if err != nil {
		return dnsmessage.Header{}, answer{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	fail := func(err error) (dnsmessage.Header, answer, error) {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return dnsmessage.Header{}, answer{}, err
	}
	if network == "tcp" {
		msg := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(q)), uint16(len(q)))
		if _, err := c.Write(append(msg, q...)); err != nil {
			return fail(err)
		}
		br := bufio.NewReader(c)
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return fail(err)
		}
		msg = make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(br, msg); err != nil {
			return fail(err)
		}
		return parseAnswer(msg, id, name, qtype)
	}
	if _, err := c.Write(q); err != nil {
		return fail(err)
	}
	buf := make([]byte, maxUDP)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return fail(err)
		}
		h, a, err := parseAnswer(buf[:n], id, name, qtype)
		if errors.Is(err, errMismatch) {
			continue // a late answer to an earlier query, or a forgery
		}
		return h, a, err
	}
}

// resolvConf returns the name servers of a resolv.conf file as host:port.
func resolvConf(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		if ip, err := netip.ParseAddr(f[1]); err == nil {
			out = append(out, netip.AddrPortFrom(ip, 53).String())
		}
	}
	return out, nil
}
