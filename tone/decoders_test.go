package tone

// Integration tests: what independent decoders from Debian hear in our FSK.
// They run under scripts/test.sh (MWI_INTEGRATION=1) and need minimodem,
// multimon-ng (with sox, which it calls for WAV input), gcc and
// libspandsp-dev (scripts/deps/tone.apt).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

func writeWAVFile(t *testing.T, name string, rate int, pcm []int16) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteWAV(&b, rate, pcm); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, stdin []byte, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, errb.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s %v: timed out", name, args)
	}
	return out.String()
}

// stripSeizure removes the channel-seizure characters a decoder printed
// before the message: 0x55s, and at most one character framed across the
// end of the seizure (a decoder that locks on a bit late reads the last
// seizure bits plus the first mark bit as 0xD5).
func stripSeizure(t *testing.T, b []byte) []byte {
	t.Helper()
	n := 0
	for n < len(b) && b[n] == 0x55 {
		n++
	}
	if n < 20 {
		t.Errorf("only %d seizure characters in % X", n, b)
	}
	if n < len(b) && b[n] == 0xD5 {
		n++
	}
	return b[n:]
}

// TestMinimodem: minimodem --rx 1200 (Bell 202) and -M 1300 -S 2100 (V.23)
// print exactly the framed bytes: the seizure, then the message and
// nothing else.
func TestMinimodem(t *testing.T) {
	itest.Require(t, "minimodem")
	for _, f := range []Format{SDMF, MDMF, ETSI} {
		for _, on := range []bool{true, false} {
			msg := MWIMessage(f, on, MsgOptions{Count: 4})
			for _, std := range []Standard{Bell202, V23} {
				path := writeWAVFile(t, "x.wav", 8000, ModulateFSK(msg, FSKOptions{Standard: std, LeadingSilence: 300 * time.Millisecond}))
				args := []string{"--rx", "-q", "-f", path, "1200"}
				if std == V23 {
					args = []string{"--rx", "-q", "-M", "1300", "-S", "2100", "-f", path, "1200"}
				}
				out := []byte(run(t, nil, "minimodem", args...))
				got := stripSeizure(t, out)
				if !bytes.Equal(got, msg) {
					t.Errorf("%v on=%v %v: minimodem printed % X, want seizure + % X", f, on, std, out, msg)
				} else if f == MDMF && on {
					t.Logf("minimodem %v: %d × 55, then % X", std, bytes.Count(out, []byte{0x55}), got)
				}
			}
		}
	}
}

// TestMultimon: multimon-ng's CLIPFSK decoder reports the indicator for
// MDMF and ETSI messages, sees SDMF messages (which it does not interpret)
// and reports nothing for a corrupted checksum.
func TestMultimon(t *testing.T) {
	itest.Require(t, "multimon-ng", "sox")
	decode := func(msg []byte, std Standard) string {
		path := writeWAVFile(t, "x.wav", 8000, ModulateFSK(msg, FSKOptions{Standard: std, LeadingSilence: 300 * time.Millisecond}))
		return strings.TrimSpace(run(t, nil, "multimon-ng", "-q", "-c", "-a", "CLIPFSK", "-t", "wav", path))
	}
	for _, std := range []Standard{Bell202, V23} {
		for _, tc := range []struct {
			msg  []byte
			want string
		}{
			{MWIMessage(MDMF, true, MsgOptions{}), "Activation (indicator on)"},
			{MWIMessage(MDMF, false, MsgOptions{}), "Deactivation (indicator off)"},
			{MWIMessage(ETSI, true, MsgOptions{Count: 3}), "NMSS=3"},
			{MWIMessage(ETSI, false, MsgOptions{}), "Deactivation (indicator off)"},
			{MWIMessage(SDMF, true, MsgOptions{}), "Message type (0x06)"},
		} {
			out := decode(tc.msg, std)
			if !strings.Contains(out, tc.want) {
				t.Errorf("%v % X: multimon-ng said %q, want %q", std, tc.msg, out, tc.want)
			}
			t.Logf("%v % X: %s", std, tc.msg, out)
		}
		for _, msg := range [][]byte{MWIMessage(MDMF, true, MsgOptions{}), MWIMessage(ETSI, true, MsgOptions{Count: 3}), MWIMessage(SDMF, true, MsgOptions{})} {
			bad := append([]byte(nil), msg...)
			bad[len(bad)-1]++
			if out := decode(bad, std); out != "" {
				t.Errorf("%v corrupted % X: multimon-ng accepted it: %q", std, bad, out)
			}
		}
	}
}

// buildADSI compiles testdata/adsi_rx.c against spandsp.
func buildADSI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "adsi_rx")
	args := []string{"-O1", "-o", bin, "testdata/adsi_rx.c"}
	if out, err := exec.Command("pkg-config", "--cflags", "--libs", "spandsp").Output(); err == nil {
		args = append(args, strings.Fields(string(out))...)
	} else {
		args = append(args, "-lspandsp")
	}
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, out)
	}
	return bin
}

func rawPCM(pcm []int16) []byte {
	b := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

// TestSpandsp: spandsp's adsi_rx (CLASS for Bell 202, CLIP for V.23/ETSI)
// decodes SDMF, MDMF and ETSI messages field by field and drops a message
// whose checksum is wrong.
func TestSpandsp(t *testing.T) {
	itest.Require(t, "gcc", "pkg-config")
	bin := buildADSI(t)
	for _, tc := range []struct {
		f     Format
		on    bool
		std   Standard
		mode  string
		field string
	}{
		{SDMF, true, Bell202, "class", "field 00: 42 42 42"},
		{SDMF, false, Bell202, "class", "field 00: 6f 6f 6f"},
		{MDMF, true, Bell202, "class", "field 0b: ff"},
		{MDMF, false, Bell202, "class", "field 0b: 00"},
		{ETSI, true, V23, "clip", "field 13: 05"},
		{ETSI, false, V23, "clip", "field 0b: 00"},
		{MDMF, true, V23, "clip", "field 0b: ff"},
	} {
		msg := MWIMessage(tc.f, tc.on, MsgOptions{Count: 5})
		pcm := ModulateFSK(msg, FSKOptions{Standard: tc.std, LeadingSilence: 300 * time.Millisecond})
		out := run(t, rawPCM(pcm), bin, tc.mode)
		want := fmt.Sprintf(": % x", msg[:len(msg)-1]) // spandsp hands over the message without its checksum
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[0], "msg ") || !strings.HasSuffix(lines[0], want) || !strings.Contains(out, tc.field) {
			t.Errorf("%v on=%v %v: spandsp printed %q, want %q and %q", tc.f, tc.on, tc.std, out, want, tc.field)
		}
		if tc.f == MDMF && tc.on && tc.std == Bell202 {
			t.Logf("spandsp: %q", out)
		}
		bad := append([]byte(nil), msg...)
		bad[len(bad)-1] ^= 0x10
		if out := run(t, rawPCM(ModulateFSK(bad, FSKOptions{Standard: tc.std, LeadingSilence: 300 * time.Millisecond})), bin, tc.mode); strings.TrimSpace(out) != "" {
			t.Errorf("%v corrupted % X: spandsp accepted it: %q", tc.std, bad, out)
		}
	}
}
