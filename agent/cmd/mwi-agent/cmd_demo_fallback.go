package main

// Stand-ins used until the display and tone packages and the agent loop
// are in main: a plain text renderer, a two-tone WAV generator and a
// snapshot source that reads the demo server directly. Each is replaced
// by the real thing in cmd_demo.go as soon as it lands.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal"
)

func fallbackRender(v indicate.View, info hal.DisplayInfo) hal.Frame {
	img := image.NewGray(image.Rect(0, 0, info.Width, info.Height))
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Gray{255}), Face: basicfont.Face7x13}
	y := 11
	for _, a := range v.Accounts {
		s := a.Label + ": "
		switch {
		case a.Waiting == indicate.DisplayWaitingUnknown || a.Health == indicate.DisplayHealthStale:
			s += "?"
		case a.New > 0:
			s += fmt.Sprintf("%d new", a.New)
			if a.UrgentNew > 0 {
				s += "!"
			}
		default:
			s += "-"
		}
		d.Dot = fixed.P(2, y)
		d.DrawString(s)
		y += 13
	}
	return hal.Frame{Image: img}
}

func fallbackWAV(name string) ([]byte, error) {
	const rate = 8000
	var pcm []int16
	for i := 0; i < rate*20; i++ {
		t := float64(i) / rate
		on := true
		if name == "stutter" && t < 1.2 {
			on = int(t*10)%2 == 0
		}
		if on {
			pcm = append(pcm, int16(6000*(math.Sin(2*math.Pi*350*t)+math.Sin(2*math.Pi*440*t))))
		} else {
			pcm = append(pcm, 0)
		}
	}
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*len(pcm)))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1))
	w(uint16(1))
	w(uint32(rate))
	w(uint32(rate * 2))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(2 * len(pcm)))
	w(pcm)
	return b.Bytes(), nil
}

// directSource turns the demo server's mailboxes into snapshots without
// SIP. It stands in for the agent loop until agent.New is in main.
type directSource struct {
	srv *demo.Server
	mu  sync.Mutex
	seq uint64
}

func (d *directSource) Snapshot() state.Snapshot {
	d.mu.Lock()
	d.seq++
	seq := d.seq
	d.mu.Unlock()
	s := state.Snapshot{Seq: seq, At: time.Now()}
	running := d.srv.Running()
	for _, m := range d.srv.Mailboxes() {
		a := state.Account{Name: "demo-" + m.User, Label: m.Label, AOR: "sip:" + m.User + "@" + d.srv.Addr()}
		if running {
			a.Health = state.HealthSubscribed
			a.Waiting = state.WaitingNo
			if m.New > 0 {
				a.Waiting = state.WaitingYes
			}
			a.Classes = map[string]state.Counts{state.ClassVoice: {New: m.New, Old: m.Old, UrgentNew: m.UrgentNew, UrgentOld: m.UrgentOld}}
		} else {
			a.Health = state.HealthStale
			a.Waiting = state.WaitingUnknown
		}
		s.Accounts = append(s.Accounts, a)
	}
	return s
}

func (d *directSource) Watch(ctx context.Context) <-chan state.Snapshot {
	out := make(chan state.Snapshot, 1)
	ch, cancel := d.srv.Subscribe()
	go func() {
		defer close(out)
		defer cancel()
		push := func() {
			select {
			case <-out:
			default:
			}
			out <- d.Snapshot()
		}
		push()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				push()
			}
		}
	}()
	return out
}
