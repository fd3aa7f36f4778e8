package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/mwi-agent/mwi-agent/tone"
)

// parseFlags parses a subcommand's flags the same way for every command:
// -h/--help prints the usage and exits 0, a bad flag exits 2 (the flag
// package has printed why), and more than maxArgs positional arguments is
// an error naming the first extra one (maxArgs < 0: the command checks).
func parseFlags(fs *flag.FlagSet, args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitError{0}
		}
		return exitError{2}
	}
	if maxArgs >= 0 && fs.NArg() > maxArgs {
		return fmt.Errorf("unexpected argument %q", fs.Arg(maxArgs))
	}
	return nil
}

// checkRate accepts the sample rates the tone package synthesises.
func checkRate(rate int) error {
	switch rate {
	case 8000, 16000, 48000:
		return nil
	}
	return fmt.Errorf("--rate %d: want 8000, 16000 or 48000", rate)
}

// writeWAVFile writes pcm as a mono 16-bit WAV file.
func writeWAVFile(path string, rate int, pcm []int16) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := tone.WriteWAV(f, rate, pcm); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// playAplay opens aplay on device, lets play write to it, and closes it.
// A close error after an interrupt (Ctrl-C) is not reported.
func playAplay(ctx context.Context, device string, rate int, play func(tone.Sink) error) error {
	sink, err := tone.NewAplay(ctx, device, rate)
	if err != nil {
		return err
	}
	err = play(sink)
	cerr := sink.Close()
	if err != nil {
		return err
	}
	if cerr != nil && ctx.Err() == nil {
		return cerr
	}
	return nil
}
