package locate

import (
	"bufio"
	"bytes"
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
)

// DNS messages (RFC 1035 section 4) are built and parsed here, only as
// far as locate needs: one question, the answer section's NAPTR
// (RFC 3403), SRV (RFC 2782), A and AAAA records, names with compression
// pointers (RFC 1035 section 4.1.4).

// qtype is a DNS record type.
type qtype uint16

const (
	typeA     qtype = 1
	typeAAAA  qtype = 28
	typeSRV   qtype = 33
	typeNAPTR qtype = 35
	classINET       = 1
)

// rcode is a DNS answer code.
type rcode uint8

const (
	rcodeSuccess   rcode = 0
	rcodeNameError rcode = 3
)

// header is the part of a message header locate uses.
type header struct {
	id        uint16
	response  bool
	truncated bool
	rcode     rcode
}

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

func typeName(t qtype) string {
	switch t {
	case typeNAPTR:
		return "NAPTR"
	case typeSRV:
		return "SRV"
	case typeA:
		return "A"
	case typeAAAA:
		return "AAAA"
	}
	return fmt.Sprintf("TYPE%d", t)
}

// rcodeName names the answer codes RFC 1035 defines.
func rcodeName(r rcode) string {
	if names := []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"}; int(r) < len(names) {
		return names[r]
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

var errMalformed = errors.New("locate: malformed DNS message")

// appendName appends name (presentation form, no escapes) in wire form.
func appendName(b []byte, name string) ([]byte, error) {
	name = fqdn(name)
	if name == "." {
		return append(b, 0), nil
	}
	if len(name) > 254 { // 255 in wire form
		return nil, fmt.Errorf("locate: %q: name longer than 255 bytes", name)
	}
	for _, l := range strings.Split(name[:len(name)-1], ".") {
		if l == "" || len(l) > 63 {
			return nil, fmt.Errorf("locate: %q: empty label or label longer than 63 bytes", name)
		}
		b = append(append(b, byte(len(l))), l...)
	}
	return append(b, 0), nil
}

// buildQuery makes a recursive query for name and t with the given id.
func buildQuery(id uint16, name string, t qtype) ([]byte, error) {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 512), id)
	b = append(b, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0) // RD; one question
	b, err := appendName(b, name)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint16(b, uint16(t))
	return binary.BigEndian.AppendUint16(b, classINET), nil
}

// readName reads the name at off in msg, following compression pointers
// (each must point before the one followed, so there are no loops), and
// returns it in presentation form (fully qualified) and the offset after
// it. A label holding a dot is refused: the name would read differently.
func readName(msg []byte, off int) (string, int, error) {
	var name []byte
	end, wire := -1, 0
	for limit := off; ; {
		if off >= len(msg) {
			return "", 0, errMalformed
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			if len(name) == 0 {
				return ".", end, nil
			}
			return string(name), end, nil
		case l&0xc0 == 0xc0:
			if off+1 >= len(msg) {
				return "", 0, errMalformed
			}
			p := int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
			if end < 0 {
				end = off + 2
			}
			if p >= limit {
				return "", 0, errMalformed // forward or looping pointer
			}
			off, limit = p, p
		case l > 63:
			return "", 0, errMalformed // extended label types (RFC 6891) are not used
		default:
			wire += 1 + l
			if wire > 254 || off+1+l > len(msg) {
				return "", 0, errMalformed
			}
			label := msg[off+1 : off+1+l]
			if bytes.IndexByte(label, '.') >= 0 {
				return "", 0, errMalformed
			}
			name = append(append(name, label...), '.')
			off += 1 + l
		}
	}
}

// errMismatch: a message that is not the answer to our query (another id
// or question); on UDP it is ignored and the wait goes on.
var errMismatch = errors.New("not the answer to the query")

// parseAnswer checks that msg answers the query (id, question) and returns
// its header and the answer records of type t. Records of other types
// are skipped; a record of the asked type that does not parse is an error
// for the whole message (the server is broken or the message was cut).
func parseAnswer(msg []byte, id uint16, name string, t qtype) (header, answer, error) {
	h, a, err := parseRecords(msg, id, name, t)
	if err != nil {
		return h, answer{}, err
	}
	return h, a, nil
}

func parseRecords(msg []byte, id uint16, name string, t qtype) (header, answer, error) {
	var a answer
	if len(msg) < 12 {
		return header{}, a, errMalformed
	}
	flags := binary.BigEndian.Uint16(msg[2:])
	h := header{id: binary.BigEndian.Uint16(msg), response: flags&0x8000 != 0, truncated: flags&0x0200 != 0, rcode: rcode(flags & 0xf)}
	qd, an := binary.BigEndian.Uint16(msg[4:]), int(binary.BigEndian.Uint16(msg[6:]))
	if h.id != id || !h.response || qd != 1 {
		return h, a, errMismatch
	}
	qname, off, err := readName(msg, 12)
	if err != nil || off+4 > len(msg) {
		return h, a, errMismatch
	}
	if qtype(binary.BigEndian.Uint16(msg[off:])) != t || binary.BigEndian.Uint16(msg[off+2:]) != classINET || !strings.EqualFold(qname, fqdn(name)) {
		return h, a, errMismatch
	}
	off += 4
	if h.truncated {
		return h, a, nil
	}
	for range an {
		_, off, err = readName(msg, off)
		if err != nil || off+10 > len(msg) {
			return h, a, errMalformed
		}
		rt, class := qtype(binary.BigEndian.Uint16(msg[off:])), binary.BigEndian.Uint16(msg[off+2:])
		ttl, n := binary.BigEndian.Uint32(msg[off+4:]), int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+n > len(msg) {
			return h, a, errMalformed
		}
		rd := msg[off : off+n]
		start := off
		off += n
		if rt != t || class != classINET {
			continue
		}
		switch t {
		case typeNAPTR:
			r, err := parseNAPTR(rd)
			if err != nil {
				return h, a, err
			}
			r.TTL = ttl
			a.naptr = append(a.naptr, r)
		case typeSRV:
			if n < 7 {
				return h, a, errMalformed
			}
			target, end, err := readName(msg[:off], start+6) // compressed or not, within the record
			if err != nil || end != off {
				return h, a, errMalformed
			}
			a.srv = append(a.srv, SRV{Priority: binary.BigEndian.Uint16(rd), Weight: binary.BigEndian.Uint16(rd[2:]),
				Port: binary.BigEndian.Uint16(rd[4:]), Target: target, TTL: ttl})
		case typeA:
			if n != 4 {
				return h, a, errMalformed
			}
			a.addrs, a.ttls = append(a.addrs, netip.AddrFrom4([4]byte(rd))), append(a.ttls, ttl)
		case typeAAAA:
			if n != 16 {
				return h, a, errMalformed
			}
			a.addrs, a.ttls = append(a.addrs, netip.AddrFrom16([16]byte(rd)).Unmap()), append(a.ttls, ttl)
		}
	}
	return h, a, nil
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
func (r *Resolver) exchange(ctx context.Context, server, name string, t qtype) (header, answer, error) {
	id := uint16(rand.Uint32())
	q, err := buildQuery(id, name, t)
	if err != nil {
		return header{}, answer{}, err
	}
	h, a, err := r.exchangeOn(ctx, "udp", server, q, id, name, t)
	if err == nil && h.truncated {
		return r.exchangeOn(ctx, "tcp", server, q, id, name, t)
	}
	return h, a, err
}

func (r *Resolver) exchangeOn(ctx context.Context, network, server string, q []byte, id uint16, name string, t qtype) (header, answer, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, server)
	if err != nil {
		return header{}, answer{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	fail := func(err error) (header, answer, error) {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return header{}, answer{}, err
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
		return parseAnswer(msg, id, name, t)
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
		h, a, err := parseAnswer(buf[:n], id, name, t)
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
