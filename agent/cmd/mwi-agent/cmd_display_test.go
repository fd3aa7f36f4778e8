package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDisplayPreview(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		w, h int
	}{
		{[]string{"--accounts", "demo"}, 512, 256},
		{[]string{"--size", "128x32", "--scale", "2", "--accounts", "demo:7", "--page", "1"}, 256, 64},
		{[]string{"--size", "16x2", "--scale", "1"}, 16*8 + 1, 2*15 + 1},
	} {
		out := filepath.Join(dir, "out.png")
		var stdout, stderr bytes.Buffer
		args := append([]string{"display", "--preview", out}, c.args...)
		if code := runMain(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != c.w || b.Dy() != c.h {
			t.Errorf("%v: PNG is %v, want %dx%d", args, b, c.w, c.h)
		}
		lit := 0
		for y := 0; y < c.h; y++ {
			for x := 0; x < c.w; x++ {
				if r, _, _, _ := img.At(x, y).RGBA(); r > 0x8000 {
					lit++
				}
			}
		}
		if lit == 0 {
			t.Errorf("%v: nothing drawn", args)
		}
	}
}

func TestDisplayPrint(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"display", "--size", "20x4"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "│■ Desk           3! │") {
		t.Errorf("20x4 print:\n%s", stdout.String())
	}
	for _, bad := range [][]string{{"--size", "99x9"}, {"--accounts", "mine"}, {"--accounts", "demo:13"}, {"--scale", "0"}, {"--bogus"}} {
		stderr.Reset()
		if code := runMain(context.Background(), append([]string{"display"}, bad...), &stdout, &stderr); code == 0 {
			t.Errorf("%v accepted", bad)
		}
	}
}
