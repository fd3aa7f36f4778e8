package display

import (
	"image"
	"strings"
	"testing"

	"github.com/mwi-agent/mwi-agent/hal"
)

func TestFormatCount(t *testing.T) {
	for n, want := range map[uint32]string{0: "0", 1: "1", 99: "99", 999: "999", 1000: "999+", 4294967295: "999+"} {
		if got := FormatCount(n); got != want {
			t.Errorf("FormatCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPageCount(t *testing.T) {
	for _, c := range []struct{ n, per, want int }{{0, 4, 1}, {1, 4, 1}, {4, 4, 1}, {5, 4, 2}, {7, 4, 2}, {9, 4, 3}, {3, 0, 3}} {
		if got := PageCount(c.n, c.per); got != c.want {
			t.Errorf("PageCount(%d, %d) = %d, want %d", c.n, c.per, got, c.want)
		}
	}
	if MonoPerPage(128, 64) != 4 || MonoPerPage(128, 32) != 2 || MonoPerPage(128, 8) != 1 {
		t.Error("MonoPerPage: want 4 on 128x64, 2 on 128x32, 1 on 128x8")
	}
}

func sameImage(a, b *image.Gray) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for i := range a.Pix {
		if a.Pix[i] != b.Pix[i] {
			return false
		}
	}
	return true
}

// Any size renders without panicking, only dark or lit pixels, and the same
// view always gives the same pixels.
func TestRenderMonoAnySize(t *testing.T) {
	views := []View{{}, Demo(1), Demo(4), Demo(12), {Accounts: []AccountView{{Label: strings.Repeat("x", 200), New: 1e6, Waiting: WaitingYes, Health: HealthStale}}}}
	for _, w := range []int{0, 1, 7, 16, 64, 96, 128, 256} {
		for _, h := range []int{0, 1, 8, 16, 24, 32, 48, 56, 64, 128} {
			for _, v := range views {
				img := RenderMono(v, w, h)
				if img.Bounds() != image.Rect(0, 0, w, h) {
					t.Fatalf("%dx%d: bounds %v", w, h, img.Bounds())
				}
				for _, p := range img.Pix {
					if p != 0 && p != 255 {
						t.Fatalf("%dx%d: pixel value %d", w, h, p)
					}
				}
				if !sameImage(img, RenderMono(v, w, h)) {
					t.Fatalf("%dx%d: two renders differ", w, h)
				}
			}
		}
	}
}

func TestRenderMonoPaging(t *testing.T) {
	v := Demo(7)
	pages := map[int]*image.Gray{}
	for p := -2; p < 4; p++ {
		v.Page = p
		pages[p] = RenderMono(v, 128, 64)
	}
	if sameImage(pages[0], pages[1]) {
		t.Error("pages 0 and 1 of 7 accounts look the same")
	}
	if !sameImage(pages[0], pages[2]) || !sameImage(pages[1], pages[3]) || !sameImage(pages[0], pages[-2]) || !sameImage(pages[1], pages[-1]) {
		t.Error("page numbers do not wrap around the 2 pages")
	}
	// The scroll bar: lit pixels in the right-most columns only when paging.
	lit := func(img *image.Gray, x0 int) int {
		n := 0
		for y := 0; y < img.Rect.Dy(); y++ {
			for x := x0; x < img.Rect.Dx(); x++ {
				if img.GrayAt(x, y).Y != 0 {
					n++
				}
			}
		}
		return n
	}
	if lit(pages[0], 127) == 0 {
		t.Error("no page indicator on a paged view")
	}
	if n := lit(RenderMono(Demo(4), 128, 64), 127); n != 0 {
		t.Errorf("4 accounts fit on 128x64, yet %d pixels lit in the indicator column", n)
	}
	// Top half of the indicator lit on page 0, bottom half on page 1.
	if pages[0].GrayAt(126, 10).Y == 0 || pages[0].GrayAt(126, 50).Y != 0 || pages[1].GrayAt(126, 50).Y == 0 {
		t.Error("scroll bar thumb not where the page is")
	}
}

// Flash changes only the envelope of a waiting account, and nothing for an
// account with nothing waiting.
func TestRenderMonoFlash(t *testing.T) {
	a := AccountView{Label: "Desk", New: 3, Waiting: WaitingYes}
	b := a
	b.Flash = true
	on, off := RenderMono(View{Accounts: []AccountView{a, a}}, 128, 64), RenderMono(View{Accounts: []AccountView{a, b}}, 128, 64)
	for y := 0; y < 64; y++ {
		for x := 0; x < 128; x++ {
			if on.GrayAt(x, y) != off.GrayAt(x, y) && !(y >= 16+2 && y < 16+2+envH && x >= 1 && x < 1+envW) {
				t.Fatalf("flash changed pixel (%d,%d) outside the second envelope", x, y)
			}
		}
	}
	if sameImage(on, off) {
		t.Error("flash did not change the envelope")
	}
	n := AccountView{Label: "Desk", Waiting: WaitingNo}
	nf := n
	nf.Flash = true
	if !sameImage(RenderMono(View{Accounts: []AccountView{n, n}}, 128, 64), RenderMono(View{Accounts: []AccountView{n, nf}}, 128, 64)) {
		t.Error("flash changed an account with nothing waiting")
	}
}

// The envelope is the part a glance reads: filled, outline and "?" must all
// differ, and stale counts as unknown.
func TestEnvelopeStates(t *testing.T) {
	yes := envelope(AccountView{Waiting: WaitingYes})
	no := envelope(AccountView{Waiting: WaitingNo})
	unk := envelope(AccountView{Waiting: WaitingUnknown})
	stale := envelope(AccountView{Waiting: WaitingYes, Health: HealthStale})
	if &yes[0] == &no[0] || &yes[0] == &unk[0] || &no[0] == &unk[0] {
		t.Fatal("envelope states share an icon")
	}
	if &stale[0] != &unk[0] {
		t.Error("stale waiting state does not show the unknown envelope")
	}
	for _, pat := range [][]string{yes, no, unk, urgentMark} {
		for _, row := range pat {
			if len(row) != len(pat[0]) {
				t.Fatalf("ragged icon row %q", row)
			}
		}
	}
	for h := HealthRegistering; h <= HealthRejected; h++ {
		g := healthGlyph(h)
		if len(g) != 9 {
			t.Errorf("%v: glyph has %d rows", h, len(g))
		}
		for h2 := HealthRegistering; h2 < h; h2++ {
			if strings.Join(g, "") == strings.Join(healthGlyph(h2), "") {
				t.Errorf("%v and %v share a glyph", h, h2)
			}
		}
	}
	if healthGlyph(HealthOK) != nil || healthGlyph(Health(99)) != nil {
		t.Error("OK or out-of-range health has a glyph")
	}
}

func TestRenderText(t *testing.T) {
	for _, sz := range [][2]int{{16, 2}, {20, 4}, {8, 1}, {40, 4}, {0, 0}} {
		for n := 0; n <= 12; n++ {
			for p := 0; p < 3; p++ {
				v := Demo(n)
				v.Page = p
				f := RenderText(v, sz[0], sz[1])
				if len(f.Text) != sz[1] {
					t.Fatalf("%dx%d: %d rows", sz[0], sz[1], len(f.Text))
				}
				for _, r := range f.Text {
					if len(r) != sz[0] {
						t.Fatalf("%dx%d: row %q is %d bytes", sz[0], sz[1], r, len(r))
					}
				}
				if len(f.Glyphs) != 8 {
					t.Fatalf("%d glyphs", len(f.Glyphs))
				}
			}
		}
	}
	f := RenderText(View{Accounts: []AccountView{
		{Label: "Grüße\\~", New: 5, UrgentNew: 1, Waiting: WaitingYes, Health: HealthAuthFailed},
		{Label: "B", Waiting: WaitingUnknown},
	}}, 16, 2)
	if got, want := f.Text[0], "\x00 Gr\xf5\xe2e/-    5\x02\x04"; got != want {
		t.Errorf("row 0 = %q, want %q", got, want)
	}
	if f.Text[1][0] != '?' {
		t.Errorf("unknown account's envelope is %q, want '?'", f.Text[1][0])
	}
	for _, g := range Glyphs() {
		for _, row := range g {
			if row > 0x1f {
				t.Fatalf("glyph row %#x uses more than 5 dots", row)
			}
		}
	}
}

func TestRenderTerminal(t *testing.T) {
	v := Demo(4)
	plain := RenderTerminal(v, false)
	want := `mwi-agent
[*] Desk             3 new, 12 old, 1 urgent
[ ] Reception        0 new, 4 old
[*] Sales            42 new, 7 old, 2 fax       registering
[?] Support hotline  mailbox unknown            unreachable
`
	if plain != want {
		t.Errorf("plain:\n%s\nwant:\n%s", plain, want)
	}
	ansi := RenderTerminal(v, true)
	if !strings.Contains(ansi, "\x1b[1;32m✉\x1b[0m Desk") || !strings.Contains(ansi, "\x1b[31munreachable") {
		t.Errorf("ansi output lacks colours:\n%q", ansi)
	}
	if got := RenderTerminal(View{}, false); got != "no accounts\n" {
		t.Errorf("empty: %q", got)
	}
}

func TestRenderByInfo(t *testing.T) {
	v := Demo(3)
	g := Render(v, hal.DisplayInfo{Kind: hal.DisplayGraphic, Width: 128, Height: 32})
	if img, ok := g.Image.(*image.Gray); !ok || !sameImage(img, RenderMono(v, 128, 32)) || g.Text != nil {
		t.Error("graphic display did not get RenderMono's image")
	}
	tx := Render(v, hal.DisplayInfo{Kind: hal.DisplayText, Width: 20, Height: 4})
	if tx.Image != nil || strings.Join(tx.Text, "|") != strings.Join(RenderText(v, 20, 4).Text, "|") {
		t.Error("text display did not get RenderText's frame")
	}
}
