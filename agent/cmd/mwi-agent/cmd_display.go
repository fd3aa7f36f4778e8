package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mwi-agent/mwi-agent/display"
)

func init() {
	register(command{
		name:    "display",
		summary: "render a sample display (--preview out.png) for docs and choosing a module",
		run:     runDisplay,
	})
}

// displaySizes are the modules the layouts are made for.
var displaySizes = map[string]struct {
	w, h int
	text bool
}{
	"128x64": {128, 64, false},
	"128x32": {128, 32, false},
	"16x2":   {16, 2, true},
	"20x4":   {20, 4, true},
}

func runDisplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("display", flag.ContinueOnError)
	fs.SetOutput(stderr)
	preview := fs.String("preview", "", "write the rendering to this PNG file (default: print it)")
	accounts := fs.String("accounts", "demo", `sample accounts: "demo" (4 accounts) or "demo:N" (0-12)`)
	size := fs.String("size", "128x64", "display: 128x64, 128x32 (SSD1306 OLED), 16x2 or 20x4 (HD44780 LCD)")
	scale := fs.Int("scale", 4, "PNG pixels per display pixel (1-16)")
	page := fs.Int("page", 0, "page to show when the accounts do not fit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mwi-agent display [--preview out.png] [--accounts demo|demo:N] [--size 128x64|128x32|16x2|20x4] [--scale 4] [--page N]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	sz, ok := displaySizes[*size]
	if !ok {
		return fmt.Errorf("--size %q: want 128x64, 128x32, 16x2 or 20x4", *size)
	}
	if *scale < 1 || *scale > 16 {
		return fmt.Errorf("--scale %d: want 1 to 16", *scale)
	}
	n := 4
	switch {
	case *accounts == "demo":
	case strings.HasPrefix(*accounts, "demo:"):
		v, err := strconv.Atoi(strings.TrimPrefix(*accounts, "demo:"))
		if err != nil || v < 0 || v > 12 {
			return fmt.Errorf("--accounts %q: want demo or demo:N with N from 0 to 12", *accounts)
		}
		n = v
	default:
		return fmt.Errorf("--accounts %q: want demo or demo:N with N from 0 to 12", *accounts)
	}
	v := display.Demo(n)
	v.Page = *page

	var img *image.Gray
	if sz.text {
		f := display.RenderText(v, sz.w, sz.h)
		if *preview == "" {
			fmt.Fprint(stdout, lcdText(f.Text))
			return nil
		}
		img = display.RenderTextImage(f)
	} else {
		img = display.RenderMono(v, sz.w, sz.h)
		if *preview == "" {
			fmt.Fprint(stdout, blockArt(img))
			return nil
		}
	}
	var buf bytes.Buffer
	if err := display.EncodePNG(&buf, scaled(img, *scale, sz.text)); err != nil {
		return err
	}
	if err := os.WriteFile(*preview, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, %d accounts, %d bytes)\n", *preview, *size, n, buf.Len())
	return nil
}

// scaled enlarges img by s (nearest neighbour) in an OLED's colours (light
// blue on black) or an LCD's (white on blue), as a two-colour PNG.
func scaled(img *image.Gray, s int, lcd bool) *image.Paletted {
	pal := color.Palette{color.RGBA{0x08, 0x08, 0x18, 0xff}, color.RGBA{0x9c, 0xdc, 0xff, 0xff}}
	if lcd {
		pal = color.Palette{color.RGBA{0x1c, 0x3c, 0xc8, 0xff}, color.RGBA{0xf0, 0xf4, 0xff, 0xff}}
	}
	b := img.Bounds()
	out := image.NewPaletted(image.Rect(0, 0, b.Dx()*s, b.Dy()*s), pal)
	for y := 0; y < b.Dy()*s; y++ {
		for x := 0; x < b.Dx()*s; x++ {
			if img.GrayAt(b.Min.X+x/s, b.Min.Y+y/s).Y != 0 {
				out.Pix[y*out.Stride+x] = 1
			}
		}
	}
	return out
}

// blockArt prints a 1-bit image with half-block characters, two pixel rows
// per line, in a frame.
func blockArt(img *image.Gray) string {
	b := img.Bounds()
	var sb strings.Builder
	sb.WriteString("┌" + strings.Repeat("─", b.Dx()) + "┐\n")
	for y := 0; y < b.Dy(); y += 2 {
		sb.WriteString("│")
		for x := 0; x < b.Dx(); x++ {
			top := img.GrayAt(x, y).Y != 0
			bottom := y+1 < b.Dy() && img.GrayAt(x, y+1).Y != 0
			switch {
			case top && bottom:
				sb.WriteString("█")
			case top:
				sb.WriteString("▀")
			case bottom:
				sb.WriteString("▄")
			default:
				sb.WriteString(" ")
			}
		}
		sb.WriteString("│\n")
	}
	sb.WriteString("└" + strings.Repeat("─", b.Dx()) + "┘\n")
	return sb.String()
}

// lcdText prints LCD rows in a frame, the custom characters as similar
// Unicode signs.
func lcdText(rows []string) string {
	glyph := [8]string{"■", "□", "!", "⧗", "⚿", "×", "◷", "⊖"}
	rom := map[byte]string{0xE1: "ä", 0xEF: "ö", 0xF5: "ü", 0xE2: "ß"}
	var sb strings.Builder
	w := 0
	if len(rows) > 0 {
		w = len(rows[0])
	}
	sb.WriteString("┌" + strings.Repeat("─", w) + "┐\n")
	for _, r := range rows {
		sb.WriteString("│")
		for i := 0; i < len(r); i++ {
			switch c := r[i]; {
			case c < 8:
				sb.WriteString(glyph[c])
			case rom[c] != "":
				sb.WriteString(rom[c])
			default:
				sb.WriteByte(c)
			}
		}
		sb.WriteString("│\n")
	}
	sb.WriteString("└" + strings.Repeat("─", w) + "┘\n")
	return sb.String()
}
