package display

import (
	"image"
	"strings"

	"github.com/mwi-agent/mwi-agent/hal"
)

// Custom characters of the text layouts, by CGRAM slot. RenderText always
// sends all eight, so a driver uploads them once.
const (
	GlyphEnvelopeFilled  byte = iota // messages waiting
	GlyphEnvelopeOutline             // none waiting (and the Flash phase of waiting)
	GlyphUrgent                      // boxed "!"
	GlyphRegistering                 // hourglass
	GlyphAuthFailed                  // padlock
	GlyphUnreachable                 // cross
	GlyphStale                       // clock
	GlyphRejected                    // no-entry sign
)

// cgram holds the 5x8 patterns, one string per dot row.
var cgram = [8][8]string{
	GlyphEnvelopeFilled:  {".....", "#####", ".###.", "#.#.#", "##.##", "#####", "#####", "....."},
	GlyphEnvelopeOutline: {".....", "#####", "##.##", "#.#.#", "#...#", "#...#", "#####", "....."},
	GlyphUrgent:          {"#####", "##.##", "##.##", "##.##", "#####", "##.##", "#####", "....."},
	GlyphRegistering:     {"#####", "#...#", ".#.#.", "..#..", ".#.#.", "#.#.#", "#####", "....."},
	GlyphAuthFailed:      {".###.", "#...#", "#...#", "#####", "##.##", "##.##", "#####", "....."},
	GlyphUnreachable:     {".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", ".....", "....."},
	GlyphStale:           {".....", ".###.", "#.#.#", "#.###", "#...#", ".###.", ".....", "....."},
	GlyphRejected:        {".....", ".###.", "#####", "#...#", "#####", ".###.", ".....", "....."},
}

// Glyphs returns the eight CGRAM characters the text layouts use, one byte
// per dot row, low five bits.
func Glyphs() [][8]byte {
	out := make([][8]byte, len(cgram))
	for i, g := range cgram {
		for r, row := range g {
			var b byte
			for _, ch := range row {
				b <<= 1
				if ch == '#' {
					b |= 1
				}
			}
			out[i][r] = b
		}
	}
	return out
}

var healthChar = [...]byte{
	HealthRegistering: GlyphRegistering,
	HealthAuthFailed:  GlyphAuthFailed,
	HealthUnreachable: GlyphUnreachable,
	HealthStale:       GlyphStale,
	HealthRejected:    GlyphRejected,
}

// TextPerPage is how many accounts a cols×rows character display shows at a
// time: one per row.
func TextPerPage(cols, rows int) int { return max(1, rows) }

// RenderText lays v out on a cols×rows HD44780 character display (16×2 and
// 20×4 are the common modules). Each of the rows strings is exactly cols
// bytes; bytes 0-7 are the custom characters in Glyphs (envelope filled or
// outline, urgent, health), other bytes are ASCII that the HD44780's A00
// ROM shows as such (ä, ö, ü and ß map to its ROM codes; other non-ASCII
// becomes "?").
//
// One row per account: envelope ("?" when the state cannot be vouched for),
// label (cut to fit), new count, urgent mark, health glyph, in columns
// aligned across the page. A single account gets its details on the rows
// below. v.Page selects the page when the accounts do not fit.
func RenderText(v View, cols, rows int) hal.Frame {
	cols, rows = max(cols, 0), max(rows, 0)
	lines := make([][]byte, rows)
	for i := range lines {
		lines[i] = []byte(strings.Repeat(" ", cols))
	}
	put := func(r, c int, s string) {
		if r < rows {
			copy(lines[r][min(c, cols):], lcdString(s, cols-c))
		}
	}
	switch {
	case len(v.Accounts) == 0:
		r := 0
		if v.Title != "" && rows > 1 {
			put(0, 0, v.Title)
			r = 1
		}
		put(r, 0, "No accounts")
	default:
		accts, _, _ := v.page(TextPerPage(cols, rows))
		textRows(lines, accts, cols)
		if len(v.Accounts) == 1 {
			for i, d := range detailLines(v.Accounts[0], cols-2) {
				put(1+i, 2, d)
			}
		}
	}
	out := hal.Frame{Text: make([]string, rows), Glyphs: Glyphs()}
	for i, l := range lines {
		out.Text[i] = string(l)
	}
	return out
}

func textRows(lines [][]byte, accts []AccountView, cols int) {
	var healthCol, urgentCol, countW int
	for _, a := range accts {
		if a.Health != HealthOK {
			healthCol = 1
		}
		if a.Known() && a.UrgentNew > 0 {
			urgentCol = 1
		}
		countW = max(countW, len(countText(a)))
	}
	countEnd := cols - healthCol - urgentCol // exclusive
	labelEnd := countEnd
	if countW > 0 {
		labelEnd -= countW + 1
	}
	for i, a := range accts {
		if i >= len(lines) {
			break
		}
		l := lines[i]
		set := func(c int, b byte) {
			if c >= 0 && c < cols {
				l[c] = b
			}
		}
		switch {
		case !a.Known():
			set(0, '?')
		case a.Waiting == WaitingYes && !a.Flash:
			set(0, GlyphEnvelopeFilled)
		default:
			set(0, GlyphEnvelopeOutline)
		}
		if labelEnd > 2 {
			label := strings.TrimRight(string(lcdString(a.Label, labelEnd-2)), " ")
			copy(l[2:], label)
		}
		if s := countText(a); s != "" && countEnd-len(s) >= 0 {
			copy(l[countEnd-len(s):], s)
		}
		if a.Known() && a.UrgentNew > 0 {
			set(cols-healthCol-1, GlyphUrgent)
		}
		if a.Health > HealthOK && int(a.Health) < len(healthChar) {
			set(cols-1, healthChar[a.Health])
		}
	}
}

// lcdString converts s to HD44780 A00 ROM codes, at most n characters.
func lcdString(s string, n int) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if len(out) >= n {
			break
		}
		var b byte
		switch {
		case r == '\\':
			b = '/' // 0x5C is ¥ in the A00 ROM
		case r == '~':
			b = '-' // 0x7E is an arrow
		case r >= 0x20 && r < 0x7E:
			b = byte(r)
		case r == 'ä':
			b = 0xE1
		case r == 'ö':
			b = 0xEF
		case r == 'ü':
			b = 0xF5
		case r == 'ß':
			b = 0xE2
		case r == 'Ä':
			b = 'A'
		case r == 'Ö':
			b = 'O'
		case r == 'Ü':
			b = 'U'
		default:
			b = '?'
		}
		out = append(out, b)
	}
	return out
}

// RenderTextImage draws a character LCD frame as pixels, for previews: each
// cell is 8×15 pixels (one pixel apart), ASCII in the built-in font, custom
// characters from the frame's glyphs at one pixel per dot, the A00 ROM's
// ä, ö, ü and ß as a, o, u, s.
func RenderTextImage(f hal.Frame) *image.Gray {
	cols := 0
	for _, r := range f.Text {
		cols = max(cols, len(r))
	}
	const cw, ch = fontAdvance + 1, fontHeight + 2
	c := newCanvas(cols*cw+1, len(f.Text)*ch+1)
	for r, row := range f.Text {
		for i := 0; i < len(row); i++ {
			x, y := 1+i*cw, 1+r*ch
			b := row[i]
			switch {
			case b < 8:
				if int(b) < len(f.Glyphs) {
					for dy, bits := range f.Glyphs[b] {
						for dx := 0; dx < 5; dx++ {
							if bits&(0x10>>dx) != 0 {
								c.set(x+dx, y+4+dy, true)
							}
						}
					}
				}
			default:
				ch := rune(b)
				switch b {
				case 0xE1:
					ch = 'a'
				case 0xEF:
					ch = 'o'
				case 0xF5:
					ch = 'u'
				case 0xE2:
					ch = 's'
				}
				c.text(x, y, string(ch), 1)
			}
		}
	}
	return c.img
}

// Render draws v for the display info describes: RenderMono for a graphic
// display, RenderText for a character LCD.
func Render(v View, info hal.DisplayInfo) hal.Frame {
	if info.Kind == hal.DisplayText {
		return RenderText(v, info.Width, info.Height)
	}
	return hal.Frame{Image: RenderMono(v, info.Width, info.Height)}
}
