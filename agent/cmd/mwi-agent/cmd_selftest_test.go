package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestSelftestOnSimBoard(t *testing.T) {
	var out, errb bytes.Buffer
	code := runMain(context.Background(), []string{"selftest", "--board", "sim", "--step", "10ms", "--hook-wait", "0", "--fsk-gap", "0"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"selftest of board sim",
		"ok   lamp LAMP: lit, then dark",
		"ok   LED 4 LED4: lit, then dark",
		"ok   display",
		"ok   hook switch reads: on-hook",
		"stutter tone: skipped, the handset is on-hook",
		"ok   FSK MWI on sent",
		"ok   FSK MWI off sent",
		"selftest: all steps ok",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSelftestGPIOBoardWithoutHardware(t *testing.T) {
	var out, errb bytes.Buffer
	code := runMain(context.Background(), []string{"selftest", "--board", "devboard-leds"}, &out, &errb)
	if code == 0 {
		t.Skip("this machine has the board's GPIO lines")
	}
	if !strings.Contains(errb.String(), `GPIO line "GPIO22" not found`) && !strings.Contains(errb.String(), "not available in this build") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
