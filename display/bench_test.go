package display

import "testing"

// A full 128x64 frame with 4 accounts (one label shortened, urgent, health
// glyphs): what an SSD1306 backend renders on every change.
func BenchmarkRenderMono128x64Four(b *testing.B) {
	v := Demo(4)
	b.ReportAllocs()
	for b.Loop() {
		RenderMono(v, 128, 64)
	}
}

func BenchmarkRenderText20x4Four(b *testing.B) {
	v := Demo(4)
	b.ReportAllocs()
	for b.Loop() {
		RenderText(v, 20, 4)
	}
}
