//go:build linux

package gpiocdev

import (
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/haltest"
)

// The haltest conformance suites against real kernel GPIO lines (gpio-sim in
// the qemu VM), observed through gpio-sim's sysfs files.

func TestVMConformanceLamp(t *testing.T) {
	needVM(t)
	pi := findSim(t, "mwi-sim-pi")
	haltest.TestLamp(t, func(t *testing.T, clk *haltest.FakeClock) haltest.LampHarness {
		l, err := OpenLamp(boards.LineRef{Name: "GPIO25"}, Options{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return haltest.LampHarness{Lamp: l, Lit: func() (bool, error) { return pi.value(25) }, Close: l.Close}
	})
}

func TestVMConformanceHook(t *testing.T) {
	needVM(t)
	pi := findSim(t, "mwi-sim-pi")
	for _, software := range []bool{false, true} {
		name := "kernel-debounce"
		if software {
			name = "software-debounce"
		}
		t.Run(name, func(t *testing.T) {
			haltest.TestHook(t, func(t *testing.T) haltest.HookHarness {
				if err := pi.pull(27, true); err != nil { // button released
					t.Fatal(err)
				}
				h, err := OpenHook(boards.LineRef{Name: "GPIO27", ActiveLow: true}, 10*time.Millisecond, true, Options{SoftwareDebounce: software})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { h.Close() })
				return haltest.HookHarness{
					Hook:   h,
					Set:    func(off bool) error { return pi.pull(27, !off) },
					Settle: 300 * time.Millisecond, // ≫ debounce, even on a loaded TCG guest
					Close:  h.Close,
				}
			})
		})
	}
}

func TestVMConformanceLine(t *testing.T) {
	needVM(t)
	pi := findSim(t, "mwi-sim-pi")
	haltest.TestLine(t, func(t *testing.T) haltest.LineHarness {
		l, err := OpenLine(boards.FXSDef{
			RM: boards.LineRef{Name: "GPIO5"}, FR: boards.LineRef{Name: "GPIO12"},
			PD: boards.LineRef{Name: "GPIO26"}, HVRelay: boards.LineRef{Name: "GPIO16"}, RingHz: 20,
		}, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		state := func() (haltest.LineState, error) {
			time.Sleep(5 * RingStopHold) // a stopping ring drops RM RingStopHold after F/R
			var s haltest.LineState
			var err error
			if s.Ring, err = pi.value(5); err != nil {
				return s, err
			}
			if s.HighVoltage, err = pi.value(16); err != nil {
				return s, err
			}
			fr, err := pi.value(12)
			// While ringing F/R is the ring signal, not the polarity.
			if !fr && !s.Ring {
				s.Polarity = hal.PolarityReversed
			}
			return s, err
		}
		return haltest.LineHarness{Line: l, State: state, Close: l.Close}
	})
}
