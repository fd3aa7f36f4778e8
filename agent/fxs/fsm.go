package fxs

import (
	"fmt"
	"time"

	"github.com/mwi-agent/mwi-agent/tone"
)

// State of an FXS port.
type State int

const (
	Idle    State = iota // on-hook
	OffHook              // handset lifted
	Flash                // briefly on-hook after off-hook: flash or hang-up?
	Sending              // on-hook data (alert + FSK) in progress
	Ringing              // ringing on request
)

func (s State) String() string {
	switch s {
	case Idle:
		return "on-hook idle"
	case OffHook:
		return "off-hook"
	case Flash:
		return "on-hook (flash?)"
	case Sending:
		return "sending data"
	case Ringing:
		return "ringing"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Config is one port's signalling and timings: config.Resolve builds it
// from the board and the fxs: and tones: sections (Resolved.FXSPort).
type Config struct {
	Polarity bool // line reversal while messages wait
	HV       bool // neon-lamp high voltage while messages wait (needs an HV relay)
	FSK      bool // on-hook VMWI data
	Stutter  bool // stutter dial tone when messages wait

	Format   tone.Format   // SDMF, MDMF or ETSI
	Standard tone.Standard // Bell202 or V23
	Alert    tone.Alert    // ETSI alert before the data, AlertNone for Bellcore

	Quiet       time.Duration // on-hook and quiet this long before signalling; 0 = 3 s
	Refresh     time.Duration // repeat FSK this often while on-hook; 0 = never
	DialTimeout time.Duration // dial tone stops after this; 0 = 30 s
	FlashMin    time.Duration // an on-hook shorter than this is not a flash (ignored); 0 = 100 ms
	FlashMax    time.Duration // an on-hook shorter than this is a hook flash, longer a hang-up; 0 = 900 ms

	Country tone.Country // dial and stutter tone plans
}

// Hook-flash bounds when the configuration sets none: what analog
// telephone adapters ship with (e.g. Cisco/Linksys "Hook Flash Timer Min
// .1, Max .9" seconds, Grandstream 100-900 ms... see docs/config.md).
const (
	DefaultFlashMin = 100 * time.Millisecond
	DefaultFlashMax = 900 * time.Millisecond
)

func (c Config) withDefaults() Config {
	if c.Quiet <= 0 {
		c.Quiet = 3 * time.Second
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 30 * time.Second
	}
	if c.FlashMin <= 0 {
		c.FlashMin = DefaultFlashMin
	}
	if c.FlashMax <= 0 {
		c.FlashMax = DefaultFlashMax
	}
	return c
}

// Status is the port's state plus what the table needs to remember.
type Status struct {
	State    State
	MWI      bool      // messages waiting (desired)
	Stutter  bool      // off-hook gives stutter tone (desired)
	Pending  bool      // signalling is owed to the phone
	SendMWI  bool      // the value being sent while Sending
	OnHookAt time.Time // when the handset was last put down
}

// EventKind says what happened.
type EventKind int

const (
	EvMWI          EventKind = iota // MWI/Stutter changed (from the indicator policy)
	EvHook                          // debounced hook switch change: OffHook
	EvQuiet                         // the on-hook quiet timer elapsed
	EvSendDone                      // the transmission finished
	EvRefresh                       // the VMWI refresh timer elapsed
	EvFlashTimeout                  // on-hook longer than FlashMax: hung up
	EvDialTimeout                   // dial tone played for DialTimeout
	EvRing                          // ringing requested on/off: On
)

func (k EventKind) String() string {
	return [...]string{"mwi", "hook", "quiet", "send-done", "refresh", "flash-timeout", "dial-timeout", "ring"}[k]
}

// Event is one input to the table.
type Event struct {
	Kind         EventKind
	MWI, Stutter bool      // EvMWI
	OffHook      bool      // EvHook
	On           bool      // EvRing
	At           time.Time // when it happened
	gen          uint64    // timer events: which arming fired
}

// ActionKind is something the port must do.
type ActionKind int

const (
	DoPolarity    ActionKind = iota // set polarity: On = reversed
	DoHV                            // HV relay: On
	DoRing                          // ringing: On
	DoSend                          // send the MWI message with its alert, then apply polarity and HV: On = messages waiting
	DoAbortSend                     // stop the transmission now, restore the polarity and HV it started from
	DoTone                          // play dial tone: On = stutter
	DoStopTone                      //
	DoStartTimer                    // arm Timer for D (re-arming cancels the old one)
	DoCancelTimer                   // disarm Timer
	DoFlash                         // report a hook flash
)

// Timer names the port's timers.
type Timer int

const (
	TimerQuiet Timer = iota
	TimerRefresh
	TimerFlash
	TimerDial
	numTimers
)

func (t Timer) String() string { return [...]string{"quiet", "refresh", "flash", "dial"}[t] }

// Action is one output of the table.
type Action struct {
	Kind  ActionKind
	On    bool
	Timer Timer
	D     time.Duration
}

func (a Action) String() string {
	switch a.Kind {
	case DoPolarity:
		if a.On {
			return "polarity reversed"
		}
		return "polarity forward"
	case DoHV:
		return "hv " + onOff(a.On)
	case DoRing:
		return "ring " + onOff(a.On)
	case DoSend:
		return "send mwi " + onOff(a.On)
	case DoAbortSend:
		return "abort send"
	case DoTone:
		if a.On {
			return "tone stutter"
		}
		return "tone dial"
	case DoStopTone:
		return "stop tone"
	case DoStartTimer:
		return fmt.Sprintf("start %v %v", a.Timer, a.D)
	case DoCancelTimer:
		return fmt.Sprintf("cancel %v", a.Timer)
	case DoFlash:
		return "flash"
	}
	return fmt.Sprintf("Action(%d)", int(a.Kind))
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func start(t Timer, d time.Duration) Action {
	if d < 0 {
		d = 0
	}
	return Action{Kind: DoStartTimer, Timer: t, D: d}
}
func cancel(t Timer) Action { return Action{Kind: DoCancelTimer, Timer: t} }

// liftActions: the handset was lifted. Never leave HV or data on a line in
// use; normal polarity; dial tone.
func liftActions(cfg Config, s Status) []Action {
	acts := []Action{cancel(TimerQuiet), cancel(TimerRefresh)}
	if cfg.HV {
		acts = append(acts, Action{Kind: DoHV, On: false})
	}
	if cfg.Polarity || cfg.Alert == tone.AlertLineReversal {
		// Forward while in use, whatever an MWI state or an interrupted
		// line-reversal alert left.
		acts = append(acts, Action{Kind: DoPolarity, On: false})
	}
	acts = append(acts, Action{Kind: DoTone, On: cfg.Stutter && s.Stutter}, start(TimerDial, cfg.DialTimeout))
	return acts
}

// quietLeft is how long until the line has been on-hook for cfg.Quiet.
func quietLeft(cfg Config, s Status, now time.Time) time.Duration {
	return cfg.Quiet - now.Sub(s.OnHookAt)
}

// updateMWI records a policy change; signalling is owed when MWI changed.
func updateMWI(s *Status, ev Event) bool {
	changed := s.MWI != ev.MWI
	s.MWI, s.Stutter = ev.MWI, ev.Stutter
	if changed {
		s.Pending = true
	}
	return changed
}

// next is the port's transition table.
func next(cfg Config, s Status, ev Event) (Status, []Action) {
	cfg = cfg.withDefaults()
	switch s.State {
	case Idle:
		switch ev.Kind {
		case EvMWI:
			if !updateMWI(&s, ev) {
				return s, nil
			}
			return s, []Action{start(TimerQuiet, quietLeft(cfg, s, ev.At))}
		case EvHook:
			if !ev.OffHook {
				return s, nil
			}
			s.State = OffHook
			return s, liftActions(cfg, s)
		case EvQuiet:
			if !s.Pending {
				return s, nil
			}
			if cfg.FSK {
				// The transmission sets polarity and HV itself, around the
				// data: HV off before it, the polarity change as its
				// line-reversal alert or after the data, HV on last.
				s.State, s.SendMWI = Sending, s.MWI
				return s, []Action{cancel(TimerRefresh), {Kind: DoSend, On: s.MWI}}
			}
			var acts []Action
			if cfg.Polarity {
				acts = append(acts, Action{Kind: DoPolarity, On: s.MWI})
			}
			if cfg.HV {
				acts = append(acts, Action{Kind: DoHV, On: s.MWI})
			}
			s.Pending = false
			return s, acts
		case EvRefresh:
			if !cfg.FSK || cfg.Refresh <= 0 {
				return s, nil
			}
			s.State, s.SendMWI = Sending, s.MWI
			return s, []Action{Action{Kind: DoSend, On: s.MWI}}
		case EvRing:
			if !ev.On {
				return s, nil
			}
			s.State = Ringing
			acts := []Action{cancel(TimerQuiet), cancel(TimerRefresh)}
			if cfg.HV && s.MWI {
				acts = append(acts, Action{Kind: DoHV, On: false})
				s.Pending = true
			}
			return s, append(acts, Action{Kind: DoRing, On: true})
		}
	case Sending:
		switch ev.Kind {
		case EvMWI:
			updateMWI(&s, ev)
			s.Pending = true // re-evaluated when the transmission ends
			return s, nil
		case EvHook:
			if !ev.OffHook {
				return s, nil
			}
			s.State, s.Pending = OffHook, true // retried after on-hook
			return s, append([]Action{{Kind: DoAbortSend}}, liftActions(cfg, s)...)
		case EvSendDone:
			s.State = Idle
			s.Pending = s.MWI != s.SendMWI
			var acts []Action
			if s.Pending {
				acts = append(acts, start(TimerQuiet, quietLeft(cfg, s, ev.At)))
			}
			if cfg.Refresh > 0 {
				acts = append(acts, start(TimerRefresh, cfg.Refresh))
			}
			return s, acts
		}
	case OffHook:
		switch ev.Kind {
		case EvMWI:
			updateMWI(&s, ev)
			return s, nil
		case EvHook:
			if ev.OffHook {
				return s, nil
			}
			s.State, s.OnHookAt = Flash, ev.At
			return s, []Action{{Kind: DoStopTone}, cancel(TimerDial), start(TimerFlash, cfg.FlashMax)}
		case EvDialTimeout:
			return s, []Action{{Kind: DoStopTone}}
		}
	case Flash:
		switch ev.Kind {
		case EvMWI:
			updateMWI(&s, ev)
			return s, nil
		case EvHook:
			if !ev.OffHook {
				return s, nil
			}
			s.State = OffHook
			if ev.At.Sub(s.OnHookAt) < cfg.FlashMin {
				// Too short for a flash: a glitch; the call goes on.
				return s, []Action{cancel(TimerFlash), {Kind: DoTone, On: cfg.Stutter && s.Stutter}, start(TimerDial, cfg.DialTimeout)}
			}
			return s, []Action{cancel(TimerFlash), {Kind: DoFlash}, {Kind: DoTone, On: cfg.Stutter && s.Stutter}, start(TimerDial, cfg.DialTimeout)}
		case EvFlashTimeout:
			s.State = Idle
			// Polarity and HV were dropped on lift: restore them.
			if s.MWI && (cfg.Polarity || cfg.HV) {
				s.Pending = true
			}
			var acts []Action
			if s.Pending {
				acts = append(acts, start(TimerQuiet, quietLeft(cfg, s, ev.At)))
			} else if cfg.FSK && cfg.Refresh > 0 {
				acts = append(acts, start(TimerRefresh, cfg.Refresh))
			}
			return s, acts
		}
	case Ringing:
		switch ev.Kind {
		case EvMWI:
			updateMWI(&s, ev)
			return s, nil
		case EvRing:
			if ev.On {
				return s, nil
			}
			s.State = Idle
			acts := []Action{{Kind: DoRing, On: false}}
			if s.Pending {
				acts = append(acts, start(TimerQuiet, quietLeft(cfg, s, ev.At)))
			}
			return s, acts
		case EvHook:
			if !ev.OffHook {
				return s, nil
			}
			s.State = OffHook // ring trip
			if s.MWI && (cfg.Polarity || cfg.HV) {
				s.Pending = true
			}
			return s, append([]Action{{Kind: DoRing, On: false}}, liftActions(cfg, s)...)
		}
	}
	return s, nil // anything else: stale timer or nothing to do
}

// DataDefaults is the on-hook data (FSK standard, message format, alert)
// a port uses in country c when the configuration names none: the
// country's table entry (V.23 with an alert in Europe; docs/tone.md), else
// Bell 202 MDMF without an alert.
func DataDefaults(c tone.Country) tone.OnHookData {
	if c.OnHook.Source == "" {
		return tone.OnHookData{Standard: tone.Bell202, Format: tone.MDMF, Alert: tone.AlertNone}
	}
	return c.OnHook
}
