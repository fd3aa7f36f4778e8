package sipua

import (
	"strconv"
	"sync"
	"time"
)

// Retransmitted NOTIFYs over UDP. RFC 3261 17.2.2 keeps a non-INVITE
// server transaction for Timer J (64*T1, 32 s) after its final answer, so
// that a retransmitted request (our answer was lost) gets the same answer
// again and is not handed to the application twice. sipgo keeps the whole
// transaction for that — the parsed NOTIFY, our response, two timers,
// about 3.5 KB — so a start-up of 1,000 accounts held 3.5 MB of NOTIFYs
// for 32 s. The NOTIFY handler ends its transaction as soon as it has
// answered and remembers the answer here instead, about 60 bytes: the
// gate (gate.go) answers a NOTIFY with the same Call-ID, CSeq and Via
// branch from this record, statelessly, before it reaches anything else —
// same code, same reason, same Retry-After, nothing applied twice.

// absorbFor is how long an answer is remembered: Timer J.
const absorbFor = 32 * time.Second

// absorbMax bounds the record: older answers go first. Only admitted
// NOTIFYs are recorded (in a dialog of ours, or unsolicited within the
// account's rate), so this is far above what a server sends in 32 s. An
// answer forgotten early costs nothing worse than the worker seeing the
// retransmission (its CSeq or arrival number is old: not applied).
const absorbMax = 1 << 16

// answered is one NOTIFY's answer.
type answered struct {
	at         int64 // UnixNano of the answer
	reason     string
	code       uint16
	retryAfter uint16
	_          [0]func() // never compared: no equality function in the binary
}

// absorber remembers the answers to recent UDP NOTIFYs by a keyed hash of
// their Call-ID, CSeq and branch (notifyKey); the seed is random per
// process, and a key's next NOTIFY (a fresh branch) is unknown to anyone
// else, so a sender cannot aim at another NOTIFY's entry.
type absorber struct {
	seed, tagSeed uint64

	mu    sync.Mutex
	byKey map[uint64]answered
	fifo  []absorbEntry // in answer order, for expiry
}

type absorbEntry struct {
	key uint64
	at  int64
}

// hash is FNV-1a of key from the seed (not a package: the armv6 binary
// has 8 KB to spare; hash/maphash took 1.5 KB of it).
func hash(seed uint64, key string) uint64 {
	h := seed
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return h
}

func (b *absorber) hash(key string) uint64 { return hash(b.seed, key) }

// toTag is the To-tag our answers to a NOTIFY without one carry: derived
// from its notifyKey, so that an answer given again from the record has
// the same tag (RFC 3261 8.2.6.2), with nothing stored for it.
func (b *absorber) toTag(key string) string {
	return strconv.FormatUint(hash(b.tagSeed, key), 36)
}

// remember records the answer to the NOTIFY with this notifyKey.
func (b *absorber) remember(key string, now time.Time, code int, reason string, retryAfter int) {
	h, t := b.hash(key), now.UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expire(t, absorbMax-1)
	if b.byKey == nil {
		b.byKey = map[uint64]answered{}
	}
	b.byKey[h] = answered{at: t, reason: reason, code: uint16(code), retryAfter: uint16(min(max(retryAfter, 0), 1<<16-1))}
	b.fifo = append(b.fifo, absorbEntry{h, t})
}

// lookup is the answer given to the NOTIFY with this notifyKey within
// absorbFor, if any.
func (b *absorber) lookup(key string, now time.Time) (answered, bool) {
	h, t := b.hash(key), now.UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expire(t, absorbMax)
	a, ok := b.byKey[h]
	return a, ok
}

// expire forgets answers older than absorbFor, and the oldest ones beyond
// keep (called with mu held).
func (b *absorber) expire(now int64, keep int) {
	for len(b.fifo) > 0 && (now-b.fifo[0].at >= int64(absorbFor) || len(b.fifo) > keep) {
		e := b.fifo[0]
		b.fifo = b.fifo[1:]
		if a, ok := b.byKey[e.key]; ok && a.at == e.at {
			delete(b.byKey, e.key)
		}
	}
	if len(b.fifo) == 0 {
		b.fifo, b.byKey = nil, nil // let a start-up's burst go
	}
}
