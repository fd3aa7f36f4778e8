package web

import (
	"image"
	"image/color"
)

type imageGray = image.Gray

func newGray(w, h, n int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for x := 0; x < n && x < w; x++ {
		g.SetGray(x, 0, color.Gray{255})
	}
	return g
}
