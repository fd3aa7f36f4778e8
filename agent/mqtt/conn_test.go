package mqtt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// The remaining length's variable-length encoding (section 2.2.3) at its
// boundaries reads back the same body.
func TestPacketRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, maxIncoming} {
		body := bytes.Repeat([]byte{0xa5}, n)
		p := packet(pktPublish<<4|3, body)
		typ, got, err := readPacket(bufio.NewReader(bytes.NewReader(p)))
		if err != nil || typ != pktPublish<<4|3 || !bytes.Equal(got, body) {
			t.Fatalf("%d bytes: type %x, %d bytes back, %v", n, typ, len(got), err)
		}
	}
	if _, _, err := readPacket(bufio.NewReader(bytes.NewReader(packet(pktPublish<<4, make([]byte, maxIncoming+1))))); err == nil {
		t.Error("a packet over the limit was read")
	}
}

// CONNECT carries what the options say (section 3.1).
func TestConnectPacket(t *testing.T) {
	p := connectPacket(dialOptions{clientID: "mwi-agent-d", username: "u", password: "p", keepAlive: 30 * time.Second,
		will: will{"mwi-agent/d/availability", []byte("offline")}})
	want := packet(pktConnect<<4, []byte("\x00\x04MQTT\x04\xee\x00\x1e\x00\x0bmwi-agent-d\x00\x18mwi-agent/d/availability\x00\x07offline\x00\x01u\x00\x01p"))
	if !bytes.Equal(p, want) {
		t.Errorf("CONNECT\n got %q\nwant %q", p, want)
	}
}

// FuzzReadPacket: any bytes from a broker: no panic, no packet over the
// limit, and a PUBLISH that parses has its parts inside the body.
func FuzzReadPacket(f *testing.F) {
	f.Add(packet(pktPublish<<4|2, append(appendString(nil, "t/c"), 0, 7, '{', '}')))
	f.Add(packet(pktSuback<<4, []byte{0, 1, 1}))
	f.Add([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for range 100 {
			typ, body, err := readPacket(r)
			if err != nil {
				return
			}
			if len(body) > maxIncoming {
				t.Fatalf("%d-byte packet", len(body))
			}
			if typ>>4 == pktPublish {
				m, qos, _, err := parsePublish(typ&15, body)
				if err == nil && (qos > 1 || len(m.topic)+len(m.payload) > len(body)) {
					t.Fatalf("PUBLISH %+v qos %d from %d bytes", m, qos, len(body))
				}
			}
		}
	})
}

// fakeBroker speaks enough MQTT 3.1.1 to check the client, answering at
// random while wild is set: refused or dropped connections, acks late,
// out of order or never, refused subscriptions, commands at QoS 0 and 1.
// It keeps retained messages like a broker.
type fakeBroker struct {
	t        *testing.T
	l        net.Listener
	mu       sync.Mutex
	rng      *rand.Rand
	wild     bool
	retained map[string]string
	acked    int // PUBACKs for our commands
	conns    int
}

func newFakeBroker(t *testing.T, seed uint64) *fakeBroker {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBroker{t: t, l: l, rng: rand.New(rand.NewPCG(seed, 1)), wild: true, retained: map[string]string{}}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go b.serve(c)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return b
}

func (b *fakeBroker) intn(n int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rng.IntN(n)
}

func (b *fakeBroker) get(topic string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.retained[topic]
}

// chance is true with probability p while wild.
func (b *fakeBroker) chance(p float64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.wild && b.rng.Float64() < p
}

func (b *fakeBroker) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second)) // bounded
	r := bufio.NewReader(c)
	typ, body, err := readPacket(r)
	if err != nil || typ>>4 != pktConnect {
		return
	}
	if !bytes.HasPrefix(body, []byte("\x00\x04MQTT\x04")) || body[7]&0x02 == 0 {
		b.t.Errorf("CONNECT %q: not 3.1.1 with clean session", body)
		return
	}
	b.mu.Lock()
	b.conns++
	b.mu.Unlock()
	if b.chance(0.15) {
		c.Write(packet(pktConnack<<4, []byte{0, byte(1 + b.intn(5))}))
		return
	}
	if b.chance(0.05) {
		return // dropped before CONNACK
	}
	var wmu sync.Mutex
	send := func(p []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		c.Write(p)
	}
	send(packet(pktConnack<<4, []byte{0, 0}))
	for {
		typ, body, err := readPacket(r)
		if err != nil {
			return
		}
		switch typ >> 4 {
		case pktPublish:
			m, qos, id, err := parsePublish(typ&15, body)
			if err != nil || qos != 1 || !m.retained {
				b.t.Errorf("PUBLISH %x %q: %v (want QoS 1, retained)", typ, body, err)
				return
			}
			if b.chance(0.05) {
				return // lost before it was stored
			}
			b.mu.Lock()
			if len(m.payload) == 0 {
				delete(b.retained, m.topic)
			} else {
				b.retained[m.topic] = string(m.payload)
			}
			b.mu.Unlock()
			ack := packet(pktPuback<<4, binary.BigEndian.AppendUint16(nil, id))
			switch {
			case b.chance(0.03): // never acknowledged
			case b.chance(0.05):
				return // stored, but the connection drops before the ack
			case b.chance(0.2):
				d := time.Duration(b.intn(30)) * time.Millisecond
				go func() { time.Sleep(d); send(ack) }()
			default:
				send(ack)
			}
			if b.chance(0.1) { // a command from the house, QoS 0 or 1, sometimes junk or retained
				qos := byte(b.intn(2))
				pl := []string{`{"action":"clear","account":"a"}`, `junk`, ``}[b.intn(3)]
				pb := appendString(nil, "mwi-agent/d/command")
				if qos == 1 {
					pb = binary.BigEndian.AppendUint16(pb, 7)
				}
				send(packet(pktPublish<<4|qos<<1|byte(b.intn(2)), append(pb, pl...)))
			}
		case pktPuback:
			b.mu.Lock()
			b.acked++
			b.mu.Unlock()
		case pktSubscribe:
			code := byte(1)
			if b.chance(0.1) {
				code = 0x80
			}
			send(packet(pktSuback<<4, append(body[:2:2], code)))
		case pktPingreq:
			send(packet(pktPingresp<<4, nil))
		case pktDisconnect:
			return
		default:
			b.t.Errorf("unexpected packet %x", typ)
			return
		}
	}
}

// Against a randomly answering broker the client never blocks its
// source and never stops trying; once the broker behaves, every topic's
// latest payload is retained there, removed accounts' topics are
// deleted, and availability is "online".
func TestRandomBroker(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			b := newFakeBroker(t, seed)
			src := chanSource{ch: make(chan state.Snapshot)}
			var manual sync.Mutex
			applied := 0
			c, err := New(Options{Broker: "tcp://" + b.l.Addr().String(), DeviceID: "d", DiscoveryPrefix: "homeassistant", Source: src,
				Commands: true, KeepAlive: 50 * time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond,
				Manual: func(state.ManualRequest) ([]string, error) {
					manual.Lock()
					applied++
					manual.Unlock()
					return nil, nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			c.dial.timeout = 100 * time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			rng := rand.New(rand.NewPCG(seed, 2))
			names := []string{"a", "b", "c"}
			for i := range 300 {
				var s state.Snapshot
				for _, n := range names {
					if rng.IntN(4) > 0 {
						s.Accounts = append(s.Accounts, state.Account{Name: n, Waiting: state.WaitingYes,
							Classes: map[string]state.Counts{state.ClassVoice: {New: uint32(rng.IntN(5))}}})
					}
				}
				select {
				case src.ch <- s:
				case <-time.After(2 * time.Second):
					t.Fatalf("snapshot %d not taken", i)
				}
				time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
			}
			b.mu.Lock()
			b.wild = false
			b.mu.Unlock()
			// one more change, so the client has something to send on a
			// good connection
			src.ch <- state.Snapshot{Accounts: []state.Account{{Name: "a", Waiting: state.WaitingNo}}}
			var diff string
			for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				c.mu.Lock()
				b.mu.Lock()
				diff = ""
				for topic, p := range c.want {
					if got, ok := b.retained[topic]; string(p) != got || ok != (len(p) > 0) {
						diff += fmt.Sprintf("%s: broker has %q, want %q\n", topic, got, p)
					}
				}
				if b.retained["mwi-agent/d/availability"] != "online" {
					diff += "availability: " + b.retained["mwi-agent/d/availability"]
				}
				b.mu.Unlock()
				c.mu.Unlock()
				if diff == "" {
					break
				}
			}
			if diff != "" {
				t.Errorf("after the broker calmed down:\n%s", diff)
			}
			if got := b.get(c.StateTopic("a")); !strings.Contains(got, `"waiting":"no"`) {
				t.Errorf("state of a: %s", got)
			}
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			b.mu.Lock()
			conns, acked := b.conns, b.acked
			b.mu.Unlock()
			manual.Lock()
			t.Logf("%d connections, %+v, %d commands acknowledged, %d applied", conns, c.Stats(), acked, applied)
			manual.Unlock()
			if got := b.get("mwi-agent/d/availability"); got != "offline" {
				t.Errorf("after Run: availability %q", got)
			}
		})
	}
}

// The keep-alive: a broker that stops answering is noticed within about
// two keep-alive periods, and the client connects again.
func TestKeepAliveSilentBroker(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conns := make(chan time.Time, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- time.Now()
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				readPacket(r)
				c.Write(packet(pktConnack<<4, []byte{0, 0}))
				for { // acknowledges publishes, never answers PINGREQ
					typ, body, err := readPacket(r)
					if err != nil {
						return
					}
					if typ>>4 == pktPublish {
						_, _, id, _ := parsePublish(typ&15, body)
						c.Write(packet(pktPuback<<4, binary.BigEndian.AppendUint16(nil, id)))
					}
				}
			}()
		}
	}()
	c, err := New(Options{Broker: "tcp://" + l.Addr().String(), DeviceID: "d", Source: chanSource{ch: make(chan state.Snapshot)},
		KeepAlive: 100 * time.Millisecond, BackoffBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	first := <-conns
	select {
	case second := <-conns:
		if d := second.Sub(first); d < 150*time.Millisecond {
			t.Errorf("reconnected after %v, before two keep-alive periods", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a silent broker was not noticed")
	}
}
