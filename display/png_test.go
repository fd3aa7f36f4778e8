package display

import (
	"bytes"
	stdadler "hash/adler32"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"testing"
)

// EncodePNG's output decodes with the standard image/png to the same
// pixels: gray and colour images of random sizes, including ones whose
// data needs several stored deflate blocks and sub-images with an offset.
func TestEncodePNGRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 60 {
		w, h := 1+r.IntN(300), 1+r.IntN(300)
		var img image.Image
		if i%2 == 0 {
			g := image.NewGray(image.Rect(0, 0, w+3, h+2))
			for j := range g.Pix {
				g.Pix[j] = byte(r.UintN(256))
			}
			img = g.SubImage(image.Rect(3, 2, w+3, h+2))
		} else {
			c := image.NewNRGBA(image.Rect(0, 0, w, h))
			for j := range c.Pix {
				c.Pix[j] = byte(r.UintN(256))
			}
			img = c
		}
		var buf bytes.Buffer
		if err := EncodePNG(&buf, img); err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("%dx%d: decode: %v", w, h, err)
		}
		if got.Bounds().Dx() != w || got.Bounds().Dy() != h {
			t.Fatalf("decoded %v, want %dx%d", got.Bounds(), w, h)
		}
		b := img.Bounds()
		for y := range h {
			for x := range w {
				want := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y))
				have := color.NRGBAModel.Convert(got.At(x, y))
				if want != have {
					t.Fatalf("%dx%d pixel %d,%d: %v, want %v", w, h, x, y, have, want)
				}
			}
		}
	}
}

func TestEncodePNGRejectsEmpty(t *testing.T) {
	if err := EncodePNG(&bytes.Buffer{}, image.NewGray(image.Rect(0, 0, 0, 5))); err == nil {
		t.Fatal("an empty image encoded")
	}
}

func TestAdler32(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 5551, 5552, 5553, 100000} {
		p := make([]byte, n)
		for i := range p {
			p[i] = 0xff
			if r.IntN(3) == 0 {
				p[i] = byte(r.UintN(256))
			}
		}
		if got, want := adler32(p), stdadler.Checksum(p); got != want {
			t.Fatalf("adler32 of %d bytes: %08x, want %08x", n, got, want)
		}
	}
}
