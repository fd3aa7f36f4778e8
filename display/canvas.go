package display

import (
	"image"

	"golang.org/x/image/font/basicfont"
)

// The built-in font is the X11 misc-fixed 7x13 face from basicfont: glyph
// cells are 6 pixels wide with a 7 pixel advance, 13 pixels high (11 above
// the baseline).
const (
	fontAdvance = 7
	fontWidth   = 6
	fontHeight  = 13
)

var fontFace = basicfont.Face7x13

// canvas draws lit pixels (255) on an *image.Gray that starts black. Every
// operation clips to the image.
type canvas struct {
	img  *image.Gray
	w, h int
}

func newCanvas(w, h int) canvas {
	w, h = max(w, 0), max(h, 0)
	return canvas{img: image.NewGray(image.Rect(0, 0, w, h)), w: w, h: h}
}

func (c canvas) set(x, y int, on bool) {
	if x < 0 || y < 0 || x >= c.w || y >= c.h {
		return
	}
	v := uint8(0)
	if on {
		v = 255
	}
	c.img.Pix[y*c.img.Stride+x] = v
}

func (c canvas) fill(x0, y0, x1, y1 int, on bool) {
	for y := max(y0, 0); y < min(y1, c.h); y++ {
		for x := max(x0, 0); x < min(x1, c.w); x++ {
			c.set(x, y, on)
		}
	}
}

// bitmap draws a pattern of '#' (lit) and other bytes (dark) at x, y,
// each pattern pixel scale×scale. Dark pattern pixels are drawn dark only
// when opaque is set.
func (c canvas) bitmap(x, y int, pat []string, scale int, opaque bool) {
	for r, row := range pat {
		for i := 0; i < len(row); i++ {
			on := row[i] == '#'
			if !on && !opaque {
				continue
			}
			c.fill(x+i*scale, y+r*scale, x+(i+1)*scale, y+(r+1)*scale, on)
		}
	}
}

// glyphIndex is the row of r's mask in the font, or the replacement glyph.
func glyphIndex(r rune) int {
	for _, rg := range fontFace.Ranges {
		if rg.Low <= r && r < rg.High {
			return int(r-rg.Low) + rg.Offset
		}
	}
	return 95 // U+FFFD
}

// text draws s with its glyph cells' top-left at x, y, scaled, and returns
// the x after the last glyph.
func (c canvas) text(x, y int, s string, scale int) int {
	mask := fontFace.Mask.(*image.Alpha)
	for _, r := range s {
		base := glyphIndex(fold(r)) * fontHeight
		for gy := 0; gy < fontHeight; gy++ {
			row := mask.Pix[(base+gy)*mask.Stride:]
			for gx := 0; gx < fontWidth; gx++ {
				if row[gx] >= 0x80 {
					c.fill(x+gx*scale, y+gy*scale, x+(gx+1)*scale, y+(gy+1)*scale, true)
				}
			}
		}
		x += fontAdvance * scale
	}
	return x
}

// textWidth is the width in pixels of s in the built-in font at scale 1,
// without the trailing gap after the last glyph.
func textWidth(s string) int {
	n := 0
	for range s {
		n++
	}
	if n == 0 {
		return 0
	}
	return n*fontAdvance - (fontAdvance - fontWidth)
}

// fitText shortens s to at most width pixels; a shortened text ends in a
// small ellipsis (three dots, drawn by the caller at the returned x offset
// when the second result is true).
func fitText(s string, width int) (string, bool) {
	if textWidth(s) <= width {
		return s, false
	}
	rs := []rune(s)
	for n := len(rs) - 1; n >= 0; n-- {
		t := string(rs[:n])
		// Drop trailing spaces so "Support …" becomes "Support…".
		for len(t) > 0 && t[len(t)-1] == ' ' {
			t = t[:len(t)-1]
		}
		if textWidth(t)+ellipsisWidth+1 <= width {
			return t, true
		}
	}
	return "", width >= ellipsisWidth
}

const ellipsisWidth = 5

// fittedText draws s in at most width pixels at x, y (glyph top), with an
// ellipsis when shortened.
func (c canvas) fittedText(x, y int, s string, width int) {
	t, cut := fitText(s, width)
	end := c.text(x, y, t, 1)
	if cut {
		if t != "" {
			end -= fontAdvance - fontWidth - 1
		}
		// Three dots on the baseline row, like the font's '.'.
		for i := 0; i < 3; i++ {
			c.set(end+2*i, y+10, true)
		}
	}
}

// fold maps a rune the built-in font lacks to the closest one it has:
// accented Latin letters to their base letter, "ß" to "s"; anything else
// the font lacks becomes "?".
func fold(r rune) rune {
	if r >= 0x20 && r < 0x7F {
		return r
	}
	if r >= 0xC0 && r <= 0xFF {
		const base = "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty"
		if b := base[r-0xC0]; b != 'x' && b != '/' {
			return rune(b)
		}
	}
	return '?'
}
