package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mwi-agent/mwi-agent/scripts/itest"
	"github.com/mwi-agent/mwi-agent/tone"
)

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runMain(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestToneCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stutter.wav")
	code, out, errs := runCmd("tone", "--country", "de", "--tone", "stutter", "--seconds", "2", "--out", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, `de stutter "425+400"`) {
		t.Errorf("output %q", out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rate, pcm, err := tone.ReadWAV(f)
	if err != nil || rate != 8000 || len(pcm) != 16000 {
		t.Fatalf("wav: %d Hz, %d samples, %v", rate, len(pcm), err)
	}
	// 425 + 400 Hz, each at -13 dBm0: a 1 s window separates them.
	for _, fr := range []float64{400, 425} {
		var re, im float64
		for n, v := range pcm[4000:12000] {
			ph := 2 * math.Pi * fr * float64(n) / 8000
			re += float64(v) * math.Cos(ph)
			im += float64(v) * math.Sin(ph)
		}
		amp := 2 * math.Hypot(re, im) / 8000
		if l := tone.LevelOf(amp); math.Abs(l+13) > 1 {
			t.Errorf("%g Hz at %.1f dBm0", fr, l)
		}
	}
}

func TestToneCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tone", "--country", "zz", "--out", "x.wav"}, `unknown country "zz"`},
		{[]string{"tone", "--country", "us", "--tone", "howler", "--out", "x.wav"}, `no tone "howler"`},
		{[]string{"tone", "--plan", "350+4x0", "--out", "x.wav"}, `element 1 "350+4x0"`},
		{[]string{"tone", "--country", "us"}, "nothing to do"},
		{[]string{"fsk", "--decode", "/nonexistent/file.wav"}, "no such file"},
		{[]string{"fsk", "--format", "xdmf", "--on", "--out", "x.wav"}, `unknown message format "xdmf"`},
		{[]string{"fsk", "--on", "--off", "--out", "x.wav"}, "exactly one of --on and --off"},
		{[]string{"fsk", "--on", "--standard", "v21", "--out", "x.wav"}, `unknown FSK standard "v21"`},
	} {
		code, _, errs := runCmd(tc.args...)
		if code != 1 || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want one line with %q", tc.args, code, errs, tc.want)
		}
	}
	notWAV := filepath.Join(t.TempDir(), "x.wav")
	os.WriteFile(notWAV, []byte("plain text"), 0o644)
	if code, _, errs := runCmd("fsk", "--decode", notWAV); code != 1 || !strings.Contains(errs, "not a WAV file") || strings.Count(errs, "\n") != 1 {
		t.Errorf("decode text file: %d %q", code, errs)
	}
}

func TestToneList(t *testing.T) {
	code, out, _ := runCmd("tone", "--list")
	if code != 0 || !strings.Contains(out, "10×(350+440/100,0/100) then 350+440") || strings.Count(out, "\n") < 30 {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// TestFSKCommandRoundTrip: every format written by "fsk" is read back by
// "fsk --decode".
func TestFSKCommandRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "mdmf", "--on", "--standard", "bell202"}, "mdmf message waiting on (82 03 0b 01 ff 70)"},
		{[]string{"--format", "sdmf", "--off"}, "sdmf message waiting off (06 03 6f 6f 6f aa)"},
		{[]string{"--format", "etsi", "--on", "--count", "4", "--standard", "v23", "--alert", "dt-as"}, "etsi message waiting on, 4 messages"},
		{[]string{"--format", "mdmf", "--on", "--rate", "48000", "--time"}, "mdmf message waiting on, time "},
	} {
		path := filepath.Join(dir, "m.wav")
		code, _, errs := runCmd(append([]string{"fsk", "--out", path}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%v: %s", tc.args, errs)
		}
		code, out, errs := runCmd("fsk", "--decode", path)
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: decoded %q %s, want %q", tc.args, out, errs, tc.want)
		}
		if strings.Contains(strings.Join(tc.args, " "), "v23") != strings.Contains(out, "modem v23") {
			t.Errorf("%v: wrong modem in %q", tc.args, out)
		}
	}
}

func TestTonePlayNull(t *testing.T) {
	itest.Require(t, "aplay")
	code, out, errs := runCmd("tone", "--country", "us", "--tone", "stutter", "--seconds", "1", "--play", "--device", "null")
	if code != 0 || !strings.Contains(out, "played us stutter") {
		t.Errorf("exit %d: %s %s", code, out, errs)
	}
	code, _, errs = runCmd("fsk", "--on", "--play", "--device", "null")
	if code != 0 {
		t.Errorf("fsk --play: exit %d: %s", code, errs)
	}
}

// Every command parses its flags alike: -h exits 0 with the usage, a bad
// flag exits 2, and an extra argument is named.
func TestCommandsParseFlagsAlike(t *testing.T) {
	for _, name := range []string{"tone", "fsk", "display", "status", "selftest", "pi-config", "boards", "run", "demo"} {
		var out, errb bytes.Buffer
		if code := runMain(context.Background(), []string{name, "-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "-") {
			t.Errorf("%s -h: exit %d, stderr %q; want 0 and the flags", name, code, errb.String())
		}
		errb.Reset()
		if code := runMain(context.Background(), []string{name, "--no-such-flag"}, &out, &errb); code != 2 {
			t.Errorf("%s --no-such-flag: exit %d, want 2", name, code)
		}
	}
	for _, args := range [][]string{{"tone", "extra"}, {"fsk", "extra"}, {"status", "extra"}, {"boards", "sim", "extra"}} {
		var out, errb bytes.Buffer
		if code := runMain(context.Background(), args, &out, &errb); code != 1 || !strings.Contains(errb.String(), `unexpected argument "extra"`) {
			t.Errorf("%v: exit %d, stderr %q; want 1 naming the extra argument", args, code, errb.String())
		}
	}
}
