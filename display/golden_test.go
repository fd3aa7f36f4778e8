package display

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenViews is the matrix the golden files cover.
func goldenViews() []struct {
	name string
	v    View
} {
	one := func(a AccountView) View { return View{Accounts: []AccountView{a}} }
	healths := View{Accounts: []AccountView{
		{Label: "ok", New: 2, Waiting: WaitingYes},
		{Label: "registering", Waiting: WaitingUnknown, Health: HealthRegistering},
		{Label: "auth failed", Waiting: WaitingUnknown, Health: HealthAuthFailed},
		{Label: "unreachable", Waiting: WaitingUnknown, Health: HealthUnreachable},
		{Label: "stale", New: 5, Waiting: WaitingYes, Health: HealthStale},
		{Label: "rejected", Waiting: WaitingUnknown, Health: HealthRejected},
	}}
	healths2 := healths
	healths2.Page = 1
	seven := Demo(7)
	seven2 := seven
	seven2.Page = 1
	seven3 := seven
	seven3.Page = 3
	return []struct {
		name string
		v    View
	}{
		{"empty", View{Title: "mwi-agent"}},
		{"empty_notitle", View{}},
		{"one_waiting", one(AccountView{Label: "Desk", New: 3, Old: 12, Waiting: WaitingYes})},
		{"one_flash", one(AccountView{Label: "Desk", New: 3, Old: 12, Waiting: WaitingYes, Flash: true})},
		{"one_none", one(AccountView{Label: "Desk", Old: 4, Waiting: WaitingNo})},
		{"one_count1_urgent", one(AccountView{Label: "Desk", New: 1, UrgentNew: 1, Fax: 2, Text: 3, Waiting: WaitingYes})},
		{"one_1000", one(AccountView{Label: "Call centre queue", New: 1234, Old: 5000, UrgentNew: 17, Waiting: WaitingYes})},
		{"one_unknown", one(AccountView{Label: "Desk", Waiting: WaitingUnknown, Health: HealthRegistering})},
		{"one_authfailed", one(AccountView{Label: "Desk", New: 3, Waiting: WaitingUnknown, Health: HealthAuthFailed})},
		{"three", Demo(3)},
		{"four", Demo(4)},
		{"seven_p0", seven},
		{"seven_p1", seven2},
		{"seven_p3_wraps", seven3},
		{"counts", View{Accounts: []AccountView{
			{Label: "zero", Waiting: WaitingNo},
			{Label: "one", New: 1, Waiting: WaitingYes},
			{Label: "ninety-nine", New: 99, Waiting: WaitingYes},
			{Label: "thousands", New: 1000, Waiting: WaitingYes},
		}}},
		{"urgent", View{Accounts: []AccountView{
			{Label: "Desk", New: 3, UrgentNew: 1, Waiting: WaitingYes},
			{Label: "Home", New: 1, Waiting: WaitingYes},
			{Label: "Boss", New: 1000, UrgentNew: 1000, Waiting: WaitingYes, Flash: true},
		}}},
		{"health_p0", healths},
		{"health_p1", healths2},
		{"long_labels", View{Accounts: []AccountView{
			{Label: "Reception and front desk", New: 7, Waiting: WaitingYes},
			{Label: "Support hotline (2nd level)", New: 1000, UrgentNew: 2, Waiting: WaitingYes, Health: HealthRegistering},
			{Label: "Überlänge ist schön", Waiting: WaitingNo},
			{Label: "WWWWWWWWWWWWWWWWWWWWWW", Waiting: WaitingUnknown, Health: HealthUnreachable},
		}}},
	}
}

var goldenSizes = []image.Point{{128, 64}, {128, 32}}

func TestMonoGolden(t *testing.T) {
	for _, gv := range goldenViews() {
		for _, sz := range goldenSizes {
			name := fmt.Sprintf("%s_%dx%d.png", gv.name, sz.X, sz.Y)
			t.Run(name, func(t *testing.T) {
				img := RenderMono(gv.v, sz.X, sz.Y)
				path := filepath.Join("testdata", "mono", name)
				if *update {
					writePNG(t, path, img)
					return
				}
				want := readPNG(t, path)
				if !want.Bounds().Eq(img.Bounds()) {
					t.Fatalf("size %v, golden %v", img.Bounds(), want.Bounds())
				}
				diffs := 0
				first := image.Point{-1, -1}
				for y := 0; y < sz.Y; y++ {
					for x := 0; x < sz.X; x++ {
						got := img.GrayAt(x, y).Y != 0
						r, _, _, _ := want.At(x, y).RGBA()
						if got != (r != 0) {
							if diffs == 0 {
								first = image.Pt(x, y)
							}
							diffs++
						}
					}
				}
				if diffs > 0 {
					t.Errorf("%d pixels differ from %s (first at %v); run go test ./display -update and look at the PNGs", diffs, path, first)
				}
			})
		}
	}
}

func TestTextGolden(t *testing.T) {
	for _, gv := range goldenViews() {
		for _, sz := range []image.Point{{16, 2}, {20, 4}} {
			name := fmt.Sprintf("%s_%dx%d.txt", gv.name, sz.X, sz.Y)
			t.Run(name, func(t *testing.T) {
				got := dumpText(RenderText(gv.v, sz.X, sz.Y).Text, RenderText(gv.v, sz.X, sz.Y).Glyphs)
				path := filepath.Join("testdata", "text", name)
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if got != string(want) {
					t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", path, got, want)
				}
			})
		}
	}
}

// dumpText shows an LCD frame readably: each row between bars, custom
// characters as {0}..{7}, then every CGRAM glyph's bytes and dots.
func dumpText(rows []string, glyphs [][8]byte) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteByte('|')
		for i := 0; i < len(r); i++ {
			if r[i] < 8 {
				fmt.Fprintf(&b, "{%d}", r[i])
			} else {
				b.WriteByte(r[i])
			}
		}
		b.WriteString("|\n")
	}
	for i, g := range glyphs {
		fmt.Fprintf(&b, "\nCGRAM %d:", i)
		for _, row := range g {
			fmt.Fprintf(&b, " %02x", row)
		}
		b.WriteByte('\n')
		for _, row := range g {
			b.WriteString("  ")
			for bit := 4; bit >= 0; bit-- {
				if row&(1<<bit) != 0 {
					b.WriteByte('#')
				} else {
					b.WriteByte('.')
				}
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test ./display -update to create it)", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
