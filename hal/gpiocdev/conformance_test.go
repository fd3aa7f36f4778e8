package gpiocdev

import (
	"testing"

	"github.com/mwi-agent/mwi-agent/hal/haltest"
)

// The lamp conformance suite on a fake pin: the pattern logic on any OS.
func TestConformanceLampFakePin(t *testing.T) {
	haltest.TestLamp(t, func(t *testing.T, clk *haltest.FakeClock) haltest.LampHarness {
		p := &fakePin{}
		l, err := newLamp("fake", p, clk)
		if err != nil {
			t.Fatal(err)
		}
		return haltest.LampHarness{Lamp: l, Lit: p.Get, Close: l.Close}
	})
}
