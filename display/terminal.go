package display

import (
	"fmt"
	"strings"
)

// RenderTerminal shows every account (paging does not apply) as one line of
// text: a marker, the label, counts and health. With ansi it uses colour and
// the ✉ sign; without, plain ASCII:
//
//	[*] Desk              3 new, 12 old, 1 urgent
//	[ ] Reception         0 new, 4 old
//	[?] Support hotline   mailbox unknown            unreachable
//
// "[*]" means messages wait, "[ ]" none, "[?]" the state cannot be vouched
// for. The result ends with a newline.
func RenderTerminal(v View, ansi bool) string {
	var b strings.Builder
	if v.Title != "" {
		if ansi {
			b.WriteString("\x1b[1m" + v.Title + "\x1b[0m\n")
		} else {
			b.WriteString(v.Title + "\n")
		}
	}
	if len(v.Accounts) == 0 {
		b.WriteString("no accounts\n")
		return b.String()
	}
	labelW := 5
	for _, a := range v.Accounts {
		labelW = max(labelW, len([]rune(a.Label)))
	}
	labelW = min(labelW, 24)
	for _, a := range v.Accounts {
		label := []rune(a.Label)
		if len(label) > labelW {
			label = append(label[:labelW-1], '…')
		}
		pad := strings.Repeat(" ", labelW-len(label))
		var counts string
		if a.Known() {
			counts = fmt.Sprintf("%d new, %d old", a.New, a.Old)
			for _, x := range []struct {
				n    uint32
				what string
			}{{a.UrgentNew, "urgent"}, {a.Fax, "fax"}, {a.Text, "text"}} {
				if x.n > 0 {
					counts += fmt.Sprintf(", %d %s", x.n, x.what)
				}
			}
		} else {
			counts = "mailbox unknown"
		}
		health := ""
		if a.Health != HealthOK {
			health = a.Health.String()
		}
		if !ansi {
			mark := "[ ]"
			switch {
			case !a.Known():
				mark = "[?]"
			case a.Waiting == WaitingYes:
				mark = "[*]"
			}
			line := fmt.Sprintf("%s %s%s  %-26s %s", mark, string(label), pad, counts, health)
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			continue
		}
		mark := "\x1b[2m✉\x1b[0m"
		switch {
		case !a.Known():
			mark = "\x1b[33m?\x1b[0m"
		case a.Waiting == WaitingYes:
			mark = "\x1b[1;32m✉\x1b[0m"
		}
		if a.Known() && a.UrgentNew > 0 {
			counts = "\x1b[1;31m" + counts + "\x1b[0m"
		} else if a.Known() && a.New > 0 {
			counts = "\x1b[1m" + counts + "\x1b[0m"
		}
		if health != "" {
			health = "  \x1b[31m" + health + "\x1b[0m"
		}
		fmt.Fprintf(&b, "%s %s%s  %s%s\n", mark, string(label), pad, counts, health)
	}
	return b.String()
}
