package mqtt

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// The MQTT 3.1.1 client (OASIS standard, 29 October 2014): only what the
// agent does. CONNECT with clean session, will and credentials; PUBLISH
// at QoS 1 waiting for PUBACK; SUBSCRIBE at QoS 1; incoming PUBLISH at
// QoS 0 or 1 (PUBACK after the handler ran); PINGREQ when nothing was
// sent for a keep-alive period and a lost connection when the broker then
// stays silent for another; DISCONNECT. No session state survives a
// connection (clean session): Run publishes every retained topic again
// after a reconnect. Packet numbers refer to the standard's section 2.2.1.

const (
	pktConnect    = 1
	pktConnack    = 2
	pktPublish    = 3
	pktPuback     = 4
	pktSubscribe  = 8
	pktSuback     = 9
	pktPingreq    = 12
	pktPingresp   = 13
	pktDisconnect = 14
)

// maxIncoming bounds an incoming packet (commands are a few hundred
// bytes; the broker may hold a larger retained message on the command
// topic, which is refused anyway).
const maxIncoming = 64 << 10

// message is an incoming PUBLISH.
type message struct {
	topic    string
	payload  []byte
	retained bool
}

// will is the message the broker publishes when the connection is lost.
type will struct {
	topic   string
	payload []byte
}

// dialOptions are what a connection needs.
type dialOptions struct {
	broker    string // tcp://host:port or ssl://host:port
	tls       *tls.Config
	clientID  string
	username  string
	password  string
	keepAlive time.Duration
	will      will
	timeout   time.Duration // connect (TCP, TLS, CONNACK) and each acknowledgement
	onMessage func(message)
}

// conn is one MQTT connection. Its reader goroutine delivers acks and
// messages; done closes when the connection is lost or closed, err says
// why.
type conn struct {
	nc  net.Conn
	opt dialOptions

	wmu      sync.Mutex // one packet at a time
	lastSent time.Time

	mu      sync.Mutex
	nextID  uint16
	waiting map[uint16]chan []byte // packet id -> the ack's body
	err     error
	done    chan struct{}
	heard   chan struct{} // any packet from the broker (for the keep-alive)
}

// connackError names CONNACK's refusal codes (section 3.2.2.3).
func connackError(code byte) error {
	names := []string{1: "unacceptable protocol version", 2: "identifier rejected", 3: "server unavailable",
		4: "bad user name or password", 5: "not authorized"}
	if int(code) < len(names) && names[code] != "" {
		return fmt.Errorf("mqtt: broker refused the connection: %s (%d)", names[code], code)
	}
	return fmt.Errorf("mqtt: broker refused the connection (code %d)", code)
}

// dial connects, sends CONNECT and waits for CONNACK.
func dial(ctx context.Context, o dialOptions) (*conn, error) {
	scheme, addr, _ := strings.Cut(o.broker, "://")
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var nc net.Conn
	var err error
	if scheme == "ssl" {
		d := tls.Dialer{Config: o.tls}
		nc, err = d.DialContext(ctx, "tcp", addr)
	} else {
		var d net.Dialer
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	c := &conn{nc: nc, opt: o, waiting: map[uint16]chan []byte{}, done: make(chan struct{}), heard: make(chan struct{}, 1)}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	br := bufio.NewReader(nc)
	err = c.write(connectPacket(o))
	var typ byte
	var body []byte
	if err == nil {
		typ, body, err = readPacket(br)
	}
	stop()
	if err == nil && (typ>>4 != pktConnack || len(body) != 2) {
		err = fmt.Errorf("mqtt: expected CONNACK, got packet type %d", typ>>4)
	}
	if err == nil && body[1] != 0 {
		err = connackError(body[1])
	}
	if err != nil {
		nc.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("mqtt: connect: %w", ctx.Err())
		}
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	go c.read(br)
	go c.keepAlive()
	return c, nil
}

// appendString appends an MQTT UTF-8 string or binary data: a 16-bit
// length and the bytes (section 1.5.3).
func appendString(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
}

// packet is a fixed header (type and flags, remaining length) and body.
func packet(typeFlags byte, body []byte) []byte {
	b := []byte{typeFlags}
	n := len(body)
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 128
		}
		b = append(b, d)
		if n == 0 {
			break
		}
	}
	return append(b, body...)
}

func connectPacket(o dialOptions) []byte {
	flags := byte(0x02) // clean session
	if o.will.topic != "" {
		flags |= 0x04 | 1<<3 | 0x20 // will, QoS 1, retained
	}
	if o.username != "" {
		flags |= 0x80
		if o.password != "" {
			flags |= 0x40
		}
	}
	b := appendString(nil, "MQTT")
	b = append(b, 4, flags) // protocol level 4 = 3.1.1
	b = binary.BigEndian.AppendUint16(b, uint16(min(o.keepAlive/time.Second, 65535)))
	b = appendString(b, o.clientID)
	if o.will.topic != "" {
		b = appendString(b, o.will.topic)
		b = appendString(b, string(o.will.payload))
	}
	if o.username != "" {
		b = appendString(b, o.username)
		if o.password != "" {
			b = appendString(b, o.password)
		}
	}
	return packet(pktConnect<<4, b)
}

// readPacket reads one packet: its first byte and its body.
func readPacket(r *bufio.Reader) (byte, []byte, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mult := 0, 1
	for i := 0; ; i++ {
		d, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(d&127) * mult
		if d&128 == 0 {
			break
		}
		if i == 3 {
			return 0, nil, errors.New("mqtt: malformed remaining length")
		}
		mult *= 128
	}
	if n > maxIncoming {
		return 0, nil, fmt.Errorf("mqtt: incoming packet of %d bytes (more than %d)", n, maxIncoming)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return typ, body, nil
}

// parsePublish reads an incoming PUBLISH (section 3.3).
func parsePublish(flags byte, body []byte) (m message, qos byte, id uint16, err error) {
	qos = flags >> 1 & 3
	if qos > 1 {
		return m, qos, 0, fmt.Errorf("mqtt: PUBLISH at QoS %d (subscribed at 1)", qos)
	}
	if len(body) < 2 || len(body) < 2+int(binary.BigEndian.Uint16(body)) {
		return m, qos, 0, errors.New("mqtt: malformed PUBLISH")
	}
	l := int(binary.BigEndian.Uint16(body))
	m.topic, body = string(body[2:2+l]), body[2+l:]
	if qos == 1 {
		if len(body) < 2 {
			return m, qos, 0, errors.New("mqtt: PUBLISH without packet identifier")
		}
		id, body = binary.BigEndian.Uint16(body), body[2:]
	}
	m.payload, m.retained = body, flags&1 == 1
	return m, qos, id, nil
}

func (c *conn) write(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(c.opt.timeout))
	_, err := c.nc.Write(p)
	c.lastSent = time.Now()
	if err != nil {
		c.fail(fmt.Errorf("mqtt: write: %w", err))
	}
	return err
}

// fail records the first reason the connection ended and closes it.
func (c *conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	c.nc.Close()
	close(c.done)
}

// Err is why the connection ended (nil while it is up).
func (c *conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// read delivers acks and messages until the connection fails.
func (c *conn) read(br *bufio.Reader) {
	for {
		typ, body, err := readPacket(br)
		if err != nil {
			c.fail(fmt.Errorf("mqtt: read: %w", err))
			return
		}
		select {
		case c.heard <- struct{}{}:
		default:
		}
		switch typ >> 4 {
		case pktPuback, pktSuback:
			if len(body) < 2 {
				c.fail(errors.New("mqtt: malformed acknowledgement"))
				return
			}
			id := binary.BigEndian.Uint16(body)
			c.mu.Lock()
			ch := c.waiting[id]
			delete(c.waiting, id)
			c.mu.Unlock()
			if ch != nil {
				ch <- body[2:]
			}
		case pktPublish:
			m, qos, id, err := parsePublish(typ&15, body)
			if err != nil {
				c.fail(err)
				return
			}
			if c.opt.onMessage != nil {
				c.opt.onMessage(m)
			}
			if qos == 1 {
				if c.write(packet(pktPuback<<4, binary.BigEndian.AppendUint16(nil, id))) != nil {
					return
				}
			}
		case pktPingresp:
		default:
			c.fail(fmt.Errorf("mqtt: unexpected packet type %d from the broker", typ>>4))
			return
		}
	}
}

// keepAlive sends PINGREQ when nothing was sent for a keep-alive period
// and ends the connection when the broker then says nothing for another
// (section 3.1.2.10: the client must send a packet within the period).
func (c *conn) keepAlive() {
	ka := c.opt.keepAlive
	t := time.NewTimer(ka)
	defer t.Stop()
	pinged := false
	for {
		select {
		case <-c.done:
			return
		case <-c.heard:
			pinged = false
			continue
		case <-t.C:
		}
		if pinged {
			c.fail(fmt.Errorf("mqtt: no answer from the broker within the keep-alive (%v)", ka))
			return
		}
		c.wmu.Lock()
		idle := time.Since(c.lastSent)
		c.wmu.Unlock()
		if idle < ka {
			t.Reset(ka - idle)
			continue
		}
		if c.write(packet(pktPingreq<<4, nil)) != nil {
			return
		}
		pinged = true
		t.Reset(ka)
	}
}

// request sends a packet with identifier id (made by build) and waits for
// its acknowledgement's body.
func (c *conn) request(ctx context.Context, what string, build func(id uint16) []byte) ([]byte, error) {
	ch := make(chan []byte, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	id := c.nextID
	c.waiting[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}()
	if err := c.write(build(id)); err != nil {
		return nil, fmt.Errorf("mqtt: %s: %w", what, err)
	}
	t := time.NewTimer(c.opt.timeout)
	defer t.Stop()
	select {
	case body := <-ch:
		return body, nil
	case <-c.done:
		return nil, fmt.Errorf("mqtt: %s: %w", what, c.Err())
	case <-t.C:
		return nil, fmt.Errorf("mqtt: %s: no acknowledgement within %v", what, c.opt.timeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("mqtt: %s: %w", what, ctx.Err())
	}
}

// publish sends a retained message at QoS 1 and waits for PUBACK.
func (c *conn) publish(ctx context.Context, topic string, payload []byte) error {
	_, err := c.request(ctx, "publish "+topic, func(id uint16) []byte {
		b := appendString(nil, topic)
		b = binary.BigEndian.AppendUint16(b, id)
		return packet(pktPublish<<4|1<<1|1, append(b, payload...)) // QoS 1, retained
	})
	return err
}

// subscribe subscribes to one topic at QoS 1 and waits for SUBACK.
func (c *conn) subscribe(ctx context.Context, topic string) error {
	body, err := c.request(ctx, "subscribe "+topic, func(id uint16) []byte {
		b := binary.BigEndian.AppendUint16(nil, id)
		b = appendString(b, topic)
		return packet(pktSubscribe<<4|2, append(b, 1)) // reserved flags 0010; QoS 1
	})
	if err != nil {
		return err
	}
	if len(body) != 1 || body[0] > 2 {
		return fmt.Errorf("mqtt: subscribe %s: refused by the broker", topic)
	}
	return nil
}

// close sends DISCONNECT (so the broker drops the will) and closes.
func (c *conn) close() {
	if c.Err() == nil {
		c.write(packet(pktDisconnect<<4, nil))
	}
	c.fail(errors.New("mqtt: closed"))
}
