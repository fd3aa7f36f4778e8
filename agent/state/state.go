package state

import (
	"fmt"
	"time"
)

// Waiting is the RFC 3842 Messages-Waiting status as the agent knows it.
type Waiting int

const (
	WaitingUnknown Waiting = iota // no information yet, or lost
	WaitingNo
	WaitingYes
)

func (w Waiting) String() string {
	switch w {
	case WaitingNo:
		return "no"
	case WaitingYes:
		return "yes"
	}
	return "unknown"
}

// Health is the account's overall condition, most significant first.
type Health int

const (
	HealthDisabled    Health = iota // neither register nor subscribe
	HealthRegistering               // REGISTER in progress
	HealthRegistered                // registered; subscription not (yet) wanted or started
	HealthAuthFailed                // credentials refused
	HealthUnreachable               // timeouts, transport errors, 5xx
	HealthSubscribing               // SUBSCRIBE in progress, no NOTIFY yet
	HealthSubscribed                // active subscription, NOTIFY received
	HealthRejected                  // subscription refused or terminated for good
	HealthStale                     // subscription lapsed; mailbox state may be out of date
)

var healthNames = [...]string{"disabled", "registering", "registered", "auth failed", "unreachable", "subscribing", "subscribed", "rejected", "stale"}

func (h Health) String() string {
	if h >= 0 && int(h) < len(healthNames) {
		return healthNames[h]
	}
	return fmt.Sprintf("health(%d)", int(h))
}

// Source says where the latest mailbox information came from.
type Source int

const (
	SourceNone Source = iota
	SourceSubscribed
	SourceUnsolicited
	// SourceManual: set or cleared by hand (mwi-agent mwi, the HTTP API,
	// MQTT). It holds until the server reports a change (see agent's
	// manual.go for the precedence rules).
	SourceManual
	// SourcePersisted: read back from state_dir at start: the last known
	// state, not confirmed by the server since. Never Known.
	SourcePersisted
)

var sourceNames = [...]string{"none", "subscribed", "unsolicited", "manual", "persisted"}

func (s Source) String() string {
	if s >= 0 && int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "none"
}

// ParseSource is the inverse of String ("" and unknown names are errors).
func ParseSource(name string) (Source, error) {
	for i, n := range sourceNames {
		if n == name {
			return Source(i), nil
		}
	}
	return SourceNone, fmt.Errorf("state: unknown source %q", name)
}

// Counts are one message-context class's counts (RFC 3842 new/old and
// urgent new/old).
type Counts struct {
	New       uint32 `json:"new"`
	Old       uint32 `json:"old"`
	UrgentNew uint32 `json:"urgent_new"`
	UrgentOld uint32 `json:"urgent_old"`
}

// Class names as RFC 3458 spells them, lower case.
const (
	ClassVoice      = "voice-message"
	ClassFax        = "fax-message"
	ClassPager      = "pager-message"
	ClassMultimedia = "multimedia-message"
	ClassText       = "text-message"
	ClassNone       = "none"
)

// Account is one SIP account's state at a moment.
type Account struct {
	Name  string // config key, unique
	Label string // for displays
	AOR   string

	Waiting        Waiting
	Classes        map[string]Counts // by lower-case class name; nil when the server sent no counts
	MessageAccount string
	Source         Source
	Updated        time.Time // last mailbox update; zero if never
	// RestoredFrom is the source the persisted state had when it was
	// saved (only with Source == SourcePersisted).
	RestoredFrom Source `json:",omitempty"`

	Health     Health
	LastStatus int    // last SIP status code seen (0 if none)
	LastReason string // reason phrase or local cause, e.g. "timeout", "reason=rejected"
	Since      time.Time
}

// Voice returns the voice-message counts (zero if absent).
func (a Account) Voice() Counts { return a.Classes[ClassVoice] }

// Shown is the counts a person is shown (status page, display, `mwi-agent
// status`): the voice messages when the server reports a voice class,
// else the total of every class (a server that reports only other classes,
// or only a total).
func (a Account) Shown() Counts {
	if v, ok := a.Classes[ClassVoice]; ok {
		return v
	}
	return a.Total()
}

// Total sums every class's counts.
func (a Account) Total() Counts {
	var t Counts
	for _, c := range a.Classes {
		t.New += c.New
		t.Old += c.Old
		t.UrgentNew += c.UrgentNew
		t.UrgentOld += c.UrgentOld
	}
	return t
}

// Known reports whether the agent can currently vouch for the mailbox state:
// it has information, that information has not gone stale, and the server
// that would tell of a change is reachable (an unreachable server cannot
// send the NOTIFY that would change it, so old data is not confident).
//
// A persisted state is never known (the server has not confirmed it since
// the start); a manual one is known whatever the subscription's health (a
// person vouched for it).
func (a Account) Known() bool {
	switch a.Source {
	case SourcePersisted:
		return false
	case SourceManual:
		return a.Waiting != WaitingUnknown
	}
	return a.Waiting != WaitingUnknown && a.Health != HealthStale && a.Health != HealthUnreachable
}

// Unconfirmed reports whether the mailbox state is the last known one read
// back at start and not yet confirmed or corrected by the server.
func (a Account) Unconfirmed() bool { return a.Source == SourcePersisted }

// Snapshot is a consistent view of every account, in configuration order.
// Seq increases by one with every change.
type Snapshot struct {
	Seq      uint64
	At       time.Time
	Accounts []Account
}

// Account returns the named account's state.
func (s Snapshot) Account(name string) (Account, bool) {
	for _, a := range s.Accounts {
		if a.Name == name {
			return a, true
		}
	}
	return Account{}, false
}

// Clone returns a deep copy, safe to hand to another goroutine.
func (s Snapshot) Clone() Snapshot {
	out := s
	out.Accounts = make([]Account, len(s.Accounts))
	for i, a := range s.Accounts {
		if a.Classes != nil {
			m := make(map[string]Counts, len(a.Classes))
			for k, v := range a.Classes {
				m[k] = v
			}
			a.Classes = m
		}
		out.Accounts[i] = a
	}
	return out
}
