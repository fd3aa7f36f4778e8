package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mwi-agent/mwi-agent/tone"
)

func init() {
	register(command{name: "tone", summary: "write or play a country's tone (dial, stutter, busy, ring, congestion)", run: runTone})
}

func runTone(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	country := fs.String("country", "us", "country code (see --list)")
	name := fs.String("tone", "stutter", "tone name: dial, stutter, busy, ring, congestion")
	planStr := fs.String("plan", "", "play this indications string instead, e.g. \"!350+440/100,!0/100,350+440\"")
	seconds := fs.Float64("seconds", 5, "length to write or play")
	out := fs.String("out", "", "write a WAV file")
	play := fs.Bool("play", false, "play through aplay")
	device := fs.String("device", "default", "ALSA device for --play (\"null\" needs no sound card)")
	rate := fs.Int("rate", 8000, "sample rate: 8000, 16000 or 48000")
	level := fs.Float64("level", tone.DefaultLevelDBm0, "level per frequency in dBm0")
	list := fs.Bool("list", false, "list the built-in countries and their tones")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mwi-agent tone [--country CC] [--tone NAME | --plan STRING] [--seconds S] (--out FILE.wav | --play [--device D]) | --list")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *list {
		return listCountries(stdout)
	}
	if err := checkRate(*rate); err != nil {
		return err
	}
	if *seconds <= 0 || *seconds > 3600 {
		return fmt.Errorf("--seconds %g: want more than 0 and at most 3600", *seconds)
	}
	if *out == "" && !*play {
		return errors.New("nothing to do: give --out FILE.wav or --play")
	}
	var plan tone.Plan
	var what string
	if *planStr != "" {
		p, err := tone.ParsePlan(*planStr)
		if err != nil {
			return err
		}
		plan, what = p, fmt.Sprintf("%q", *planStr)
	} else {
		c, err := tone.LookupCountry(*country)
		if err != nil {
			return err
		}
		p, err := c.Plan(*name)
		if err != nil {
			return err
		}
		plan, what = p, fmt.Sprintf("%s %s %q", c.Code, *name, c.Tones[*name])
	}
	opt := tone.Options{Rate: *rate, LevelDBm0: *level}
	d := time.Duration(*seconds * float64(time.Second))
	if *out != "" {
		pcm := tone.Render(plan, opt, d)
		if err := writeWAVFile(*out, *rate, pcm); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: %s, %.2f s at %d Hz, %g dBm0 per frequency\n", *out, what, float64(len(pcm))/float64(*rate), *rate, *level)
	}
	if *play {
		err := playAplay(ctx, *device, *rate, func(sink tone.Sink) error {
			return tone.Play(ctx, sink, tone.NewGenerator(plan, opt), *rate, d)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "played %s on %s\n", what, *device)
	}
	return nil
}

func listCountries(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tCOUNTRY\tDIAL\tSTUTTER")
	for _, c := range tone.Countries() {
		st := c.Tones[tone.Stutter]
		if len(st) > 48 {
			st = summarizeStutter(st)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Code, c.Name, c.Tones[tone.Dial], st)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nEvery country has: %s. Show one in full: mwi-agent tone --country CC --tone NAME --out x.wav\n", strings.Join(tone.ToneNames(), ", "))
	return nil
}

// summarizeStutter shortens "!a/100,!0/100,…,steady" to
// "N×(a/100,0/100) then steady" when the once-only part repeats a group.
func summarizeStutter(s string) string {
	p, err := tone.ParsePlan(s)
	if err != nil || p.Loop <= 0 {
		return s[:45] + "..."
	}
	plain := func(i int) string { return strings.TrimPrefix(p.Segments[i].String(), "!") }
	for period := 1; period <= p.Loop/2; period++ {
		if p.Loop%period != 0 {
			continue
		}
		ok := true
		for i := period; i < p.Loop && ok; i++ {
			ok = plain(i) == plain(i%period)
		}
		if !ok {
			continue
		}
		var group, rest []string
		for i := 0; i < period; i++ {
			group = append(group, plain(i))
		}
		for i := p.Loop; i < len(p.Segments); i++ {
			rest = append(rest, p.Segments[i].String())
		}
		return fmt.Sprintf("%d×(%s) then %s", p.Loop/period, strings.Join(group, ","), strings.Join(rest, ","))
	}
	return s[:45] + "..."
}
