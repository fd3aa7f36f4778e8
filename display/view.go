package display

import (
	"fmt"
	"strconv"
)

// Waiting is whether messages wait in an account's mailbox, as far as the
// agent knows.
type Waiting int

const (
	WaitingUnknown Waiting = iota // no information, or lost
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

// Health is the account's condition as the display shows it. Everything but
// HealthOK gets a glyph; HealthStale also means the mailbox state cannot be
// vouched for, so the envelope shows its "?" form.
type Health int

const (
	HealthOK          Health = iota // registered and subscribed, or otherwise fine
	HealthRegistering               // REGISTER or SUBSCRIBE in progress (hourglass)
	HealthAuthFailed                // credentials refused (padlock)
	HealthUnreachable               // timeouts, transport errors, 5xx (cross)
	HealthStale                     // subscription lapsed; state may be out of date (clock)
	HealthRejected                  // subscription refused or terminated for good (no-entry sign)
)

var healthNames = [...]string{"ok", "registering", "auth failed", "unreachable", "stale", "rejected"}

func (h Health) String() string {
	if h >= 0 && int(h) < len(healthNames) {
		return healthNames[h]
	}
	return fmt.Sprintf("health(%d)", int(h))
}

// AccountView is what the display shows for one account.
//
// New, Old and UrgentNew are the voice (or total) message counts; Fax and
// Text are shown in detail views when non-zero. Flash selects the alternate
// icon of a waiting envelope (outline instead of filled): the caller toggles
// it on its own clock to make the envelope blink; the renderer has no timers.
type AccountView struct {
	Label     string
	New, Old  uint32
	UrgentNew uint32
	Fax, Text uint32
	Waiting   Waiting
	Health    Health
	Flash     bool
}

// Known reports whether the mailbox state can be vouched for: there is
// information and it has not gone stale. When it cannot, the envelope shows
// "?" and no count is shown.
func (a AccountView) Known() bool {
	return a.Waiting != WaitingUnknown && a.Health != HealthStale
}

// View is everything a display shows. Page selects which page of accounts a
// display shows when they do not all fit; it wraps around (any integer is
// valid), so a caller can simply increment it. Title is shown when there are
// no accounts and by the terminal renderer.
type View struct {
	Accounts []AccountView
	Page     int
	Title    string
}

// PageCount is the number of pages needed to show n accounts, perPage at a
// time (at least 1).
func PageCount(n, perPage int) int {
	if perPage < 1 {
		perPage = 1
	}
	if n <= perPage {
		return 1
	}
	return (n + perPage - 1) / perPage
}

// page returns the accounts on v's page, the page index and the page count.
func (v View) page(perPage int) ([]AccountView, int, int) {
	if perPage < 1 {
		perPage = 1
	}
	pages := PageCount(len(v.Accounts), perPage)
	p := v.Page % pages
	if p < 0 {
		p += pages
	}
	lo := p * perPage
	hi := min(lo+perPage, len(v.Accounts))
	if lo > hi {
		lo = hi
	}
	return v.Accounts[lo:hi], p, pages
}

// FormatCount formats a message count for a small display: up to three
// digits, "999+" beyond.
func FormatCount(n uint32) string {
	if n > 999 {
		return "999+"
	}
	return strconv.FormatUint(uint64(n), 10)
}

// countText is the count shown next to an account's envelope: the number of
// new messages when known and non-zero, else nothing.
func countText(a AccountView) string {
	if !a.Known() || a.New == 0 {
		return ""
	}
	return FormatCount(a.New)
}

// detailLines are the lines a single-account view shows under its header,
// packed into lines of at most width characters where the parts allow: the
// health when not OK, then the new count and the non-zero old, urgent, fax
// and text counts.
func detailLines(a AccountView, width int) []string {
	var lines []string
	if a.Health != HealthOK {
		lines = append(lines, a.Health.String())
	}
	if !a.Known() {
		if a.Health == HealthOK || a.Health == HealthRegistering {
			return append(lines, "no information yet")
		}
		return append(lines, "mailbox unknown")
	}
	parts := []string{FormatCount(a.New) + " new"}
	for _, x := range []struct {
		n    uint32
		what string
	}{{a.Old, "old"}, {a.UrgentNew, "urgent"}, {a.Fax, "fax"}, {a.Text, "text"}} {
		if x.n > 0 {
			parts = append(parts, FormatCount(x.n)+" "+x.what)
		}
	}
	line := ""
	for _, p := range parts {
		switch {
		case line == "":
			line = p
		case len(line)+2+len(p) <= width:
			line += ", " + p
		default:
			lines = append(lines, line)
			line = p
		}
	}
	return append(lines, line)
}

// Demo returns a sample view of n accounts (0 to 12) covering the states a
// display can show: waiting with counts, urgent, nothing waiting, unknown,
// and every health state. It is what "mwi-agent display --preview" draws.
func Demo(n int) View {
	all := []AccountView{
		{Label: "Desk", New: 3, Old: 12, UrgentNew: 1, Waiting: WaitingYes},
		{Label: "Reception", Old: 4, Waiting: WaitingNo},
		{Label: "Sales", New: 42, Old: 7, Fax: 2, Waiting: WaitingYes, Health: HealthRegistering},
		{Label: "Support hotline", Waiting: WaitingUnknown, Health: HealthUnreachable},
		{Label: "Home", New: 1, Waiting: WaitingYes},
		{Label: "Fax", Waiting: WaitingUnknown, Health: HealthAuthFailed},
		{Label: "Lab", New: 1200, Old: 31, Waiting: WaitingYes, Health: HealthStale},
		{Label: "Night", Waiting: WaitingUnknown, Health: HealthRejected},
		{Label: "Kitchen", Waiting: WaitingNo},
		{Label: "Office 2", New: 99, UrgentNew: 99, Waiting: WaitingYes},
		{Label: "Garage", Waiting: WaitingNo},
		{Label: "Shop", New: 7, Waiting: WaitingYes},
	}
	n = max(0, min(n, len(all)))
	return View{Accounts: all[:n:n], Title: "mwi-agent"}
}
