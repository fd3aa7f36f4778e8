package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestBoardsCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"boards"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, name := range []string{"sim", "devboard-leds", "rpi-ata"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("boards output lacks %s:\n%s", name, out.String())
		}
	}
	out.Reset()
	if code := runMain(context.Background(), []string{"boards", "rpi-ata"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"message lamp", "GPIO22", "FXS SHK", "GPIO6", "high = off-hook", "0x3C"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("rpi-ata wiring lacks %q:\n%s", want, out.String())
		}
	}
	if code := runMain(context.Background(), []string{"boards", "nope"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "known: devboard-leds, rpi-ata, sim") {
		t.Errorf("unknown board: exit %d, %s", code, errb.String())
	}
}
