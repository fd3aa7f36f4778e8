package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mwi-agent/mwi-agent/tone"
)

func init() {
	register(command{name: "fsk", summary: "write, play or decode FSK visual message-waiting data (SDMF, MDMF, ETSI)", run: runFSK})
}

func runFSK(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fsk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "mdmf", "message format: sdmf, mdmf or etsi")
	on := fs.Bool("on", false, "message waiting: turn the indicator on")
	off := fs.Bool("off", false, "no message waiting: turn the indicator off")
	count := fs.Int("count", 1, "etsi: number of messages")
	withTime := fs.Bool("time", false, "mdmf/etsi: add the current date and time")
	standard := fs.String("standard", "bell202", "modem: bell202 or v23")
	alert := fs.String("alert", "none", "etsi alerting signal before the data: none or dt-as (line-reversal and ring-pulse need a line)")
	silence := fs.Duration("silence", 300*time.Millisecond, "leading silence")
	level := fs.Float64("level", tone.DefaultFSKLevel, "level in dBm0")
	rate := fs.Int("rate", 8000, "sample rate: 8000, 16000 or 48000")
	out := fs.String("out", "", "write a WAV file")
	play := fs.Bool("play", false, "play through aplay")
	device := fs.String("device", "default", "ALSA device for --play")
	decode := fs.String("decode", "", "decode the FSK message in this WAV file instead")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mwi-agent fsk [--format sdmf|mdmf|etsi] (--on|--off) [--standard bell202|v23] (--out FILE.wav | --play) | --decode FILE.wav")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *decode != "" {
		return decodeFSK(*decode, stdout)
	}
	if *on == *off {
		return errors.New("give exactly one of --on and --off")
	}
	f, err := tone.ParseFormat(*format)
	if err != nil {
		return err
	}
	std, err := tone.ParseStandard(*standard)
	if err != nil {
		return err
	}
	al, err := tone.ParseAlert(*alert)
	if err != nil {
		return err
	}
	if al != tone.AlertNone && al != tone.AlertDTAS {
		return fmt.Errorf("--alert %s needs a line (polarity or ringing); only none and dt-as can be written as audio", al)
	}
	if err := checkRate(*rate); err != nil {
		return err
	}
	if *out == "" && !*play {
		return errors.New("nothing to do: give --out FILE.wav, --play or --decode FILE.wav")
	}
	var mo tone.MsgOptions
	mo.Count = *count
	if *withTime {
		mo.Time = time.Now()
	}
	msg := tone.MWIMessage(f, *on, mo)
	fo := tone.FSKOptions{Standard: std, Rate: *rate, LevelDBm0: *level, LeadingSilence: *silence}
	var pcm []int16
	if al == tone.AlertDTAS {
		fo.LeadingSilence = 0
		pcm = make([]int16, int(silence.Seconds()*float64(*rate)))
		for _, st := range tone.NewAlertSequence(al, tone.ModulateFSK(msg, fo), tone.Options{Rate: *rate}) {
			if st.PCM != nil {
				pcm = append(pcm, st.PCM...)
			} else {
				pcm = append(pcm, make([]int16, int(st.Duration.Seconds()*float64(*rate)))...)
			}
		}
	} else {
		pcm = tone.ModulateFSK(msg, fo)
	}
	state := "off"
	if *on {
		state = "on"
	}
	desc := fmt.Sprintf("%s MWI %s, %s, message % X", f, state, std, msg)
	if *out != "" {
		if err := writeWAVFile(*out, *rate, pcm); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: %s, %.3f s\n", *out, desc, float64(len(pcm))/float64(*rate))
	}
	if *play {
		err := playAplay(ctx, *device, *rate, func(sink tone.Sink) error {
			_, err := sink.Write(pcm)
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "played %s on %s\n", desc, *device)
	}
	return nil
}

func decodeFSK(path string, stdout io.Writer) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	rate, pcm, err := tone.ReadWAV(fh)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	d, err := tone.DecodeMWI(pcm, rate)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dm := d.Demodulated
	fmt.Fprintf(stdout, "%s\n", d.Message)
	fmt.Fprintf(stdout, "modem %s: mark %.0f Hz, space %.0f Hz measured; data starts at %v; %d bytes framed\n",
		dm.Standard, dm.MarkHz, dm.SpaceHz, dm.Start.Round(time.Millisecond), len(dm.Bytes))
	return nil
}
