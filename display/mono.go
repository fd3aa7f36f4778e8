package display

import "image"

// rowHeight is the height of one account row in the graphic layouts.
const rowHeight = 16

// MonoPerPage is how many accounts a w×h graphic display shows at a time:
// one 16-pixel row each (4 on 128×64, 2 on 128×32), at least 1.
func MonoPerPage(w, h int) int {
	return max(1, h/rowHeight)
}

// RenderMono draws v on a w×h 1-bit display: the result holds only 0 (dark)
// and 255 (lit). It is pure and allocates only the image.
//
// Layouts:
//   - no accounts: the title and "No accounts";
//   - one account on a display at least 56 pixels high: the label and health
//     glyph on top, a double-size envelope and count, and two detail lines
//     (health, new/old counts, urgent/fax/text);
//   - otherwise one 16-pixel row per account: envelope, label (shortened
//     with an ellipsis), new count ("999+" above 999), urgent mark and health
//     glyph, in aligned columns; a single account on a shorter display gets
//     its detail line under its row. When the accounts do not fit, v.Page
//     selects the page and a scroll bar on the right edge shows which.
func RenderMono(v View, w, h int) *image.Gray {
	c := newCanvas(w, h)
	switch {
	case len(v.Accounts) == 0:
		drawEmpty(c, v.Title)
	case len(v.Accounts) == 1 && h >= 56:
		drawSingle(c, v.Accounts[0])
	default:
		accts, p, pages := v.page(MonoPerPage(w, h))
		right := c.w
		if pages > 1 {
			drawScrollBar(c, p, pages)
			right -= 4
		}
		drawRows(c, accts, right)
		if len(v.Accounts) == 1 {
			for i, line := range detailLines(v.Accounts[0], (right-envW-4+1)/fontAdvance) {
				y := rowHeight + 1 + i*fontHeight
				if y+fontHeight > c.h {
					break
				}
				c.fittedText(envW+4, y, line, right-envW-4)
			}
		}
	}
	return c.img
}

func drawEmpty(c canvas, title string) {
	const msg = "No accounts"
	y := (c.h - fontHeight) / 2
	if title != "" && c.h >= 2*fontHeight+4 {
		t, _ := fitText(title, c.w-2)
		c.text((c.w-textWidth(t))/2, 1, t, 1)
		y = max(y, fontHeight+3)
	}
	c.fittedText(max((c.w-textWidth(msg))/2, 1), y, msg, c.w-2)
}

func drawScrollBar(c canvas, p, pages int) {
	x := c.w - 2
	for y := 0; y < c.h; y += 2 {
		c.set(x+1, y, true)
	}
	top, bottom := p*c.h/pages, (p+1)*c.h/pages
	c.fill(x, top, x+2, bottom-1, true)
}

// drawRows draws one row per account in the columns left of right.
func drawRows(c canvas, accts []AccountView, right int) {
	// Columns shared by the page's rows, right to left: health, urgent, count.
	var anyHealth, anyUrgent bool
	countW := 0
	for _, a := range accts {
		anyHealth = anyHealth || healthGlyph(a.Health) != nil
		anyUrgent = anyUrgent || (a.Known() && a.UrgentNew > 0)
		countW = max(countW, textWidth(countText(a)))
	}
	healthX := right - 1
	if anyHealth {
		healthX -= healthW
	}
	urgentX := healthX
	if anyUrgent {
		urgentX -= urgentW + 2
	}
	countRight := urgentX - 3
	labelX := envW + 4
	labelRight := countRight - countW - 4
	for i, a := range accts {
		y := i * rowHeight
		c.bitmap(1, y+2, envelope(a), 1, false)
		if labelRight > labelX {
			c.fittedText(labelX, y+2, a.Label, labelRight-labelX)
		}
		if s := countText(a); s != "" {
			c.text(countRight-textWidth(s), y+2, s, 1)
		}
		if a.Known() && a.UrgentNew > 0 {
			c.bitmap(urgentX, y+2, urgentMark, 1, false)
		}
		if g := healthGlyph(a.Health); g != nil {
			c.bitmap(healthX, y+4, g, 1, false)
		}
	}
}

// drawSingle is the layout for one account on a tall display.
func drawSingle(c canvas, a AccountView) {
	right := c.w - 1
	if g := healthGlyph(a.Health); g != nil {
		right -= healthW
		c.bitmap(right, 3, g, 1, false)
		right -= 3
	}
	c.fittedText(1, 0, a.Label, right-1)
	c.bitmap(2, 17, envelope(a), 2, false)
	x := 2*envW + 8
	if s := countText(a); s != "" {
		x = c.text(x, 14, s, 2) + 2
	}
	if a.Known() && a.UrgentNew > 0 {
		c.bitmap(x, 17, urgentMark, 2, false)
	}
	for i, line := range detailLines(a, (c.w-1)/fontAdvance) {
		y := 39 + i*12
		if i >= 2 || y+fontHeight-1 > c.h {
			break
		}
		c.fittedText(1, y, line, c.w-2)
	}
}
