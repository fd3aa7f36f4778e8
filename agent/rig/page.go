package rig

import (
	"errors"
	"fmt"

	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/agent/internal/latest"
	"github.com/mwi-agent/mwi-agent/agent/web"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

// simDevice shows the simulated board on the status page: its handset
// moves, its analog line and device log are shown. The page reads the
// lamp, LEDs and display from what the indicators applied, not from here.
type simDevice struct {
	b       *sim.Board
	changed *latest.Signal
}

var _ web.Device = simDevice{}

func newSimDevice(b *sim.Board) simDevice {
	d := simDevice{b: b, changed: &latest.Signal{}}
	b.Rec.OnChange(d.changed.Notify)
	return d
}

func (d simDevice) Hook() (present, offHook bool) {
	if d.b.Hook == nil {
		return false, false
	}
	off, _ := d.b.Hook.OffHook()
	return true, off
}

func (d simDevice) SetHook(off bool) error {
	if d.b.Hook == nil {
		return errors.New("rig: the simulated board has no hook switch")
	}
	return d.b.Hook.Set(off)
}

func (d simDevice) Line() (web.LineJSON, bool) {
	if d.b.Line == nil {
		return web.LineJSON{}, false
	}
	ls := d.b.Line.State()
	return web.LineJSON{Reversed: ls.Reversed, HighVoltage: ls.HighVoltage, Ring: ls.Ring, MWI: ls.Reversed || ls.HighVoltage}, true
}

func (d simDevice) Log() []web.LogEntry {
	log := d.b.Rec.Log()
	out := make([]web.LogEntry, len(log))
	for i, e := range log {
		out[i] = web.LogEntry{At: e.At, Device: e.Device, What: e.What}
	}
	return out
}

func (d simDevice) Changes() (<-chan struct{}, func()) { return d.changed.Subscribe() }

// demoControls hands the demo voicemail server to the page.
type demoControls struct{ *demo.Server }

var _ web.Demo = demoControls{}

func (c demoControls) Mailboxes() []web.DemoMailbox {
	var out []web.DemoMailbox
	for _, m := range c.Server.Mailboxes() {
		out = append(out, web.DemoMailbox(m))
	}
	return out
}

func (c demoControls) Leave(user string, urgent bool) error {
	return pageErr(c.Server.Leave(user, urgent))
}
func (c demoControls) Listen(user string) error { return pageErr(c.Server.Listen(user)) }
func (c demoControls) Delete(user string) error { return pageErr(c.Server.Delete(user)) }

func pageErr(err error) error {
	if errors.Is(err, demo.ErrNoMailbox) {
		return fmt.Errorf("%w: %w", web.ErrNoMailbox, err)
	}
	return err
}
