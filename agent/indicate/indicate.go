package indicate

import (
	"fmt"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal"
)

// The lamp patterns the policy uses. Steady when messages wait, a fast
// blink for urgent messages, a slow short flash when the agent cannot know.
var (
	PatternOff     = hal.PatternOff
	PatternSteady  = hal.PatternSteady
	PatternUrgent  = hal.Blink("urgent", 250*time.Millisecond, 250*time.Millisecond)
	PatternUnknown = hal.Blink("unknown", 200*time.Millisecond, 1800*time.Millisecond)
)

// AccountPolicy is one account's indicator settings (config accounts[i]).
type AccountPolicy struct {
	Name string
	Lamp bool // drives the main lamp
	LED  int  // 1-based board LED; 0 = next free in order; -1 = none
}

// Policy is everything Compute needs besides the snapshot.
type Policy struct {
	UnknownPattern bool            // indicator.unknown_pattern
	UrgentPattern  bool            // indicator.urgent_pattern
	Accounts       []AccountPolicy // accounts missing here drive the lamp and get the next free LED
	LEDs           int             // board LEDs
	FXSPorts       int             // board FXS ports (0 or 1 today)
	Title          string          // display title when there are no accounts
}

// DefaultPolicy is the policy with the config defaults for a board with
// the given LEDs and FXS ports.
func DefaultPolicy(leds, fxsPorts int) Policy {
	return Policy{UnknownPattern: true, UrgentPattern: true, LEDs: leds, FXSPorts: fxsPorts, Title: "mwi-agent"}
}

// FXS is one analog port's MWI outputs. MWI follows the last known state
// of the lamp accounts (an analog phone has no "unknown" signal); Unknown
// says that some of that state cannot currently be vouched for.
type FXS struct {
	MWI bool // polarity / neon / FSK "messages waiting"
	// Count is the new messages of the lamp accounts whose last known
	// state is "messages waiting" (what a person is shown: voice first),
	// for an on-hook message that carries a count (ETSI 0x13); 0 when
	// the server sent only the status line.
	Count   int
	Stutter bool // off-hook gives stutter dial tone instead of normal
	Unknown bool
}

// Outputs are every indicator's desired state.
type Outputs struct {
	Lamp    hal.Pattern
	LEDs    []hal.Pattern // len == Policy.LEDs
	LEDFor  []string      // account name on each LED, "" when unused
	Display View          // accounts in snapshot order
	FXS     []FXS         // len == Policy.FXSPorts
	// Stutter: a handset lifted now should hear stutter dial tone (the
	// lamp accounts' last known state has messages waiting); the FXS ports
	// and the status page's handset follow it.
	Stutter bool
	Why     string // one line for logs and the status page
}

// status is what one account contributes.
type status int

const (
	stNothing  status = iota // known, nothing waiting (or not tracked)
	stUnknown                // cannot vouch, nothing known to wait
	stStaleYes               // last known: waiting, but stale
	stYes
	stUrgent
)

func accountStatus(a state.Account) status {
	if a.Health == state.HealthDisabled && a.Waiting == state.WaitingUnknown {
		return stNothing // neither registers nor subscribes: nothing to know
	}
	if !a.Known() {
		if a.Waiting == state.WaitingYes {
			return stStaleYes
		}
		return stUnknown
	}
	if a.Waiting != state.WaitingYes {
		return stNothing
	}
	if a.Total().UrgentNew > 0 {
		return stUrgent
	}
	return stYes
}

func pattern(st status, p Policy) hal.Pattern {
	switch st {
	case stUrgent:
		if p.UrgentPattern {
			return PatternUrgent
		}
		return PatternSteady
	case stYes:
		return PatternSteady
	case stStaleYes:
		if p.UnknownPattern {
			return PatternUnknown
		}
		return PatternSteady // plain on/off: keep the last known state
	case stUnknown:
		if p.UnknownPattern {
			return PatternUnknown
		}
	}
	return PatternOff
}

// combine picks the lamp status of several accounts: known waiting messages
// win over "cannot know", which wins over "nothing waiting".
func combine(sts []status) status {
	best := stNothing
	rank := map[status]int{stNothing: 0, stUnknown: 1, stStaleYes: 2, stYes: 3, stUrgent: 4}
	for _, s := range sts {
		if rank[s] > rank[best] {
			best = s
		}
	}
	return best
}

// Compute derives every output from the whole snapshot. It is pure.
func Compute(s state.Snapshot, p Policy) Outputs {
	byName := map[string]AccountPolicy{}
	for _, ap := range p.Accounts {
		byName[ap.Name] = ap
	}
	out := Outputs{LEDs: make([]hal.Pattern, p.LEDs), LEDFor: make([]string, p.LEDs)}
	for i := range out.LEDs {
		out.LEDs[i] = PatternOff
	}
	// LED assignment: explicit first, then the next free in order.
	ledOf := map[string]int{}
	for _, a := range s.Accounts {
		if ap, ok := byName[a.Name]; ok && ap.LED > 0 && ap.LED <= p.LEDs && out.LEDFor[ap.LED-1] == "" {
			out.LEDFor[ap.LED-1] = a.Name
			ledOf[a.Name] = ap.LED - 1
		}
	}
	next := 0
	for _, a := range s.Accounts {
		ap, ok := byName[a.Name]
		if _, done := ledOf[a.Name]; done || (ok && ap.LED != 0) {
			continue
		}
		for next < p.LEDs && out.LEDFor[next] != "" {
			next++
		}
		if next < p.LEDs {
			out.LEDFor[next] = a.Name
			ledOf[a.Name] = next
		}
	}

	var lampSts []status
	anyUnknown, lastYes, restored := false, false, false
	count := 0
	for _, a := range s.Accounts {
		st := accountStatus(a)
		ap, ok := byName[a.Name]
		if !ok || ap.Lamp {
			lampSts = append(lampSts, st)
			if st == stUnknown || st == stStaleYes {
				anyUnknown = true
			}
			if a.Waiting == state.WaitingYes {
				lastYes = true
				count = min(count+int(min(a.Shown().New, 1<<16)), 1<<16) // saturate: ETSI carries 1..255
			}
			restored = restored || a.Unconfirmed()
		}
		if i, ok := ledOf[a.Name]; ok {
			out.LEDs[i] = pattern(st, p)
		}
		out.Display.Accounts = append(out.Display.Accounts, accountView(a, s.At))
	}
	lamp := combine(lampSts)
	out.Lamp = pattern(lamp, p)
	out.Display.Title = p.Title
	out.Stutter = lastYes
	for i := 0; i < p.FXSPorts; i++ {
		out.FXS = append(out.FXS, FXS{MWI: lastYes, Count: count, Stutter: lastYes, Unknown: anyUnknown})
	}
	out.Why = [...]string{"nothing waiting", "cannot know: an account's mailbox state is unknown or stale",
		"cannot know: messages waited when the account went stale", "messages waiting", "urgent messages waiting"}[lamp]
	if restored && (lamp == stUnknown || lamp == stStaleYes) {
		out.Why = "cannot know: last known state from before the start, not yet confirmed by the server"
	}
	if len(lampSts) == 0 {
		out.Why = "no account drives the lamp"
	}
	return out
}

// accountView: a persisted (last known, unconfirmed) state shows the
// stale glyph and "?" envelope, and its age after the label ("Office 3h").
func accountView(a state.Account, now time.Time) AccountView {
	c := a.Shown()
	v := AccountView{
		Label:     a.Label,
		New:       c.New,
		Old:       c.Old,
		UrgentNew: c.UrgentNew,
		Fax:       a.Classes[state.ClassFax].New,
		Text:      a.Classes[state.ClassText].New,
		Waiting:   DisplayWaiting(a.Waiting), // same order: unknown, no, yes
	}
	if v.Label == "" {
		v.Label = a.Name
	}
	if a.Source == state.SourceManual {
		// Set or cleared by hand (mwi-agent mwi, the API, MQTT): the
		// display says so, short enough to survive a 16-column LCD's cut.
		v.Label = ManualMark + v.Label
	}
	if a.Unconfirmed() {
		v.Label += " " + ShortAge(now.Sub(a.Updated))
		v.Health = DisplayHealthStale
		return v
	}
	switch a.Health {
	case state.HealthRegistering, state.HealthSubscribing:
		v.Health = DisplayHealthRegistering
	case state.HealthAuthFailed:
		v.Health = DisplayHealthAuthFailed
	case state.HealthUnreachable:
		v.Health = DisplayHealthUnreachable
	case state.HealthRejected:
		v.Health = DisplayHealthRejected
	case state.HealthStale:
		v.Health = DisplayHealthStale
	default:
		v.Health = DisplayHealthOK
	}
	return v
}

// ManualMark starts the display label of an account whose state was set
// or cleared by hand, so a guest or installer sees that the server did not
// say it (docs/display.md).
const ManualMark = "M:"

// ShortAge formats an age for a small display: "45s", "12m", "3h", "4d".
func ShortAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}
