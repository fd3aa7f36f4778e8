package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/fxs"
	"github.com/mwi-agent/mwi-agent/agent/rig"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/tone"
)

func init() {
	register(command{name: "selftest", summary: "installer's check of a board: lamp, LEDs, display, hook switch, stutter tone, FSK MWI", run: runSelftest})
}

// runSelftest is the "test from the user's point of view" procedure: every
// step says what the installer should see or hear, and the result.
func runSelftest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	boardName := fs.String("board", "", "board name (default: the configuration's board, else sim)")
	cfgPath := fs.String("config", "", "configuration file (board, board_overrides, fxs, tones)")
	step := fs.Duration("step", time.Second, "how long each lamp and LED stays lit")
	fskGap := fs.Duration("fsk-gap", 3*time.Second, "pause between the FSK MWI on and off messages")
	hookWait := fs.Duration("hook-wait", 10*time.Second, "how long to wait for the handset to be lifted or put down; 0 = only read it")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg := config.Default()
	if *cfgPath != "" {
		c, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		cfg = c
	}
	name := *boardName
	if name == "" {
		name = cfg.Board
	}
	if name == "" {
		name = "sim"
	}
	cfg.Board = name
	res, err := config.Resolve(cfg)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The board with the config's overrides, validated, opened as "run"
	// opens it.
	board, err := rig.Open(res, log)
	if err != nil {
		return err
	}
	b, d := board.Def, board.Devices
	defer d.Close()

	failed := 0
	result := func(what string, err error, okText string) {
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "  FAIL %s: %v\n", what, err)
			return
		}
		fmt.Fprintf(stdout, "  ok   %s%s\n", what, okText)
	}
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	fmt.Fprintf(stdout, "selftest of board %s (%s backend)\n", b.Name, b.Backend)

	fmt.Fprintf(stdout, "lamp and LEDs: each lights for %v in turn, then goes dark\n", *step)
	lamps := append([]hal.Lamp{d.Lamp}, d.LEDs...)
	for i, l := range lamps {
		what := "lamp " + b.Lamp.String()
		if i > 0 {
			what = fmt.Sprintf("LED %d %s", i, b.LEDs[i-1])
		}
		if l == nil {
			continue
		}
		err := l.SetPattern(hal.PatternSteady)
		if err == nil && !sleep(*step) {
			return ctx.Err()
		}
		if e := l.SetPattern(hal.PatternOff); err == nil {
			err = e
		}
		result(what, err, ": lit, then dark")
	}

	if d.Display != nil {
		fmt.Fprintln(stdout, "display: a border with a diagonal (graphic) or \"mwi-agent selftest\" (text)")
		result("display", d.Display.Show(selftestFrame(d.Display.Info())), "")
	} else if b.Display != nil {
		// hw.Open warns and goes on without a display it cannot open.
		fmt.Fprintf(stdout, "  --   display %s: not found, skipped (the warning above says why)\n", b.Display.Driver)
	}

	off := false
	if d.Hook != nil {
		off, err = d.Hook.OffHook()
		state := "on-hook"
		if off {
			state = "off-hook"
		}
		result("hook switch reads", err, ": "+state)
		if err == nil && *hookWait > 0 {
			fmt.Fprintf(stdout, "hook switch: %s the handset (or press the button) within %v\n", map[bool]string{false: "lift", true: "put down"}[off], *hookWait)
			deadline := time.After(*hookWait)
		wait:
			for {
				select {
				case ev, ok := <-d.Hook.Events():
					if !ok {
						break wait
					}
					if ev.OffHook == off {
						continue // queued before the read above
					}
					off = ev.OffHook
					result("hook switch change", nil, fmt.Sprintf(": now %s", map[bool]string{false: "on-hook", true: "off-hook"}[off]))
					break wait
				case <-deadline:
					result("hook switch change", errors.New("no change seen (check the SHK/button wiring)"), "")
					break wait
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
	}

	audio := d.Audio
	if audio == nil && b.FXS != nil {
		a, err := tone.NewAplay(ctx, b.FXS.AudioDev, tone.DefaultSampleRate)
		if err != nil {
			result("audio device "+b.FXS.AudioDev, err, "")
		} else {
			defer a.Close()
			audio = a
		}
	}
	country := res.Country // tones.country, else the board's, with tones.overrides
	if audio != nil && off {
		fmt.Fprintln(stdout, "stutter dial tone: 2 s in the earpiece")
		plan, err := country.Plan(tone.Stutter)
		if err == nil {
			err = tone.Play(ctx, audio, tone.NewGenerator(plan, tone.Options{LevelDBm0: cfg.Tones.LevelDBm0}), tone.DefaultSampleRate, 2*time.Second)
		}
		result("stutter tone ("+country.Code+")", err, "")
	} else if audio != nil {
		fmt.Fprintln(stdout, "  --   stutter tone: skipped, the handset is on-hook (lift it and run again)")
	}

	if d.Line != nil && audio != nil {
		if off {
			fmt.Fprintln(stdout, "  --   FSK MWI: skipped, the handset is off-hook (data is never sent off-hook)")
		} else {
			fxsCfg := res.FXSPort
			if fxsCfg == nil {
				return fmt.Errorf("selftest: board %s has a line but no FXS port definition", res.Board.Name)
			}
			fmt.Fprintf(stdout, "FSK MWI (%v, %v, alert %v): the phone's message lamp goes on, then off\n", fxsCfg.Format, fxsCfg.Standard, fxsCfg.Alert)
			dev := fxs.Devices{Line: d.Line, Hook: d.Hook, Audio: audio}
			for _, on := range []bool{true, false} {
				err := fxs.Transmit(ctx, dev, fxs.Sequence(*fxsCfg, on, 0, tone.DefaultSampleRate, time.Now()), tone.DefaultSampleRate)
				result(fmt.Sprintf("FSK MWI %v sent", map[bool]string{true: "on", false: "off"}[on]), err, "")
				if on && !sleep(*fskGap) {
					return ctx.Err()
				}
			}
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "selftest: %d step(s) FAILED\n", failed)
		return exitError{1}
	}
	fmt.Fprintln(stdout, "selftest: all steps ok")
	return nil
}

// selftestFrame is a border and a diagonal for graphic displays, a
// greeting for text displays.
func selftestFrame(info hal.DisplayInfo) hal.Frame {
	if info.Kind == hal.DisplayText {
		rows := make([]string, info.Height)
		rows[0] = "mwi-agent"
		if len(rows) > 1 {
			rows[1] = "selftest"
		}
		return hal.Frame{Text: rows}
	}
	img := image.NewGray(image.Rect(0, 0, info.Width, info.Height))
	on := color.Gray{Y: 255}
	for x := 0; x < info.Width; x++ {
		img.SetGray(x, 0, on)
		img.SetGray(x, info.Height-1, on)
		img.SetGray(x, x*info.Height/info.Width, on)
	}
	for y := 0; y < info.Height; y++ {
		img.SetGray(0, y, on)
		img.SetGray(info.Width-1, y, on)
	}
	return hal.Frame{Image: img}
}
