package tone

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

var _ hal.AudioSink = Sink(nil)
var _ hal.AudioSink = (*Aplay)(nil)

func TestWAVRoundTrip(t *testing.T) {
	pcm := []int16{0, 1, -1, 32767, -32768, 1234}
	var b bytes.Buffer
	if err := WriteWAV(&b, 16000, pcm); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 44+12 || string(b.Bytes()[:4]) != "RIFF" || binary.LittleEndian.Uint32(b.Bytes()[24:]) != 16000 {
		t.Fatalf("header: % x", b.Bytes()[:44])
	}
	rate, got, err := ReadWAV(&b)
	if err != nil || rate != 16000 || len(got) != len(pcm) {
		t.Fatal(rate, got, err)
	}
	for i := range pcm {
		if got[i] != pcm[i] {
			t.Errorf("sample %d: %d, want %d", i, got[i], pcm[i])
		}
	}
}

func TestReadWAVErrors(t *testing.T) {
	if _, _, err := ReadWAV(bytes.NewReader([]byte("hello, this is not audio"))); !errors.Is(err, ErrNotWAV) {
		t.Errorf("text: %v", err)
	}
	var b bytes.Buffer
	WriteWAV(&b, 8000, []int16{1, 2})
	raw := b.Bytes()
	binary.LittleEndian.PutUint16(raw[34:], 8) // 8-bit
	if _, _, err := ReadWAV(bytes.NewReader(raw)); err == nil {
		t.Error("8-bit accepted")
	}
	if _, _, err := ReadWAV(bytes.NewReader(raw[:30])); err == nil {
		t.Error("truncated header accepted")
	}
}

// TestReadWAVStereoAndChunks: extra chunks are skipped and a stereo file
// gives its first channel.
func TestReadWAVStereoAndChunks(t *testing.T) {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(0))
	b.WriteString("WAVE")
	b.WriteString("LIST")
	le(uint32(3))
	b.WriteString("abc\x00") // odd size + pad byte
	b.WriteString("fmt ")
	le(uint32(16))
	le(uint16(1))
	le(uint16(2))
	le(uint32(8000))
	le(uint32(32000))
	le(uint16(4))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(8))
	le([]int16{10, -10, 20, -20})
	rate, pcm, err := ReadWAV(&b)
	if err != nil || rate != 8000 || len(pcm) != 2 || pcm[0] != 10 || pcm[1] != 20 {
		t.Fatal(rate, pcm, err)
	}
}

type captureSink struct{ got []int16 }

func (c *captureSink) Write(p []int16) (int, error) { c.got = append(c.got, p...); return len(p), nil }

func TestPlay(t *testing.T) {
	var s captureSink
	g := NewGenerator(MustParsePlan("425"), Options{})
	if err := Play(context.Background(), &s, g, 8000, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if len(s.got) != 4000 {
		t.Errorf("played %d samples for 500 ms", len(s.got))
	}
	s.got = nil
	m := NewFSKModulator(MWIMessage(SDMF, true, MsgOptions{}), FSKOptions{})
	if err := Play(context.Background(), &s, m, 8000, 0); err != nil {
		t.Fatal(err)
	}
	if len(s.got) != m.Len() {
		t.Errorf("played %d of %d FSK samples", len(s.got), m.Len())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Play(ctx, &s, g, 8000, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestAplayNull plays through the real aplay into ALSA's null device.
func TestAplayNull(t *testing.T) {
	itest.Require(t, "aplay")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := NewAplay(ctx, "null", 8000)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(MustParsePlan("!350+440/100,!0/100,350+440"), Options{})
	if err := Play(ctx, a, g, 8000, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("aplay: %v", err)
	}
	// A device that does not exist: the error says so.
	b, err := NewAplay(ctx, "no-such-device-xyz", 8000)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]int16, 8000)
	var werr error
	for i := 0; i < 20 && werr == nil; i++ {
		_, werr = b.Write(buf)
		time.Sleep(50 * time.Millisecond)
	}
	cerr := b.Close()
	if werr == nil && cerr == nil {
		t.Error("aplay on a missing device reported no error")
	}
	t.Logf("missing device: write %v; close %v", werr, cerr)
}

// TestWAVSink: a tone streamed into a WAVSink reads back as a valid file
// with every sample.
func TestWAVSink(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "rec.wav"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := NewWAVSink(f, 16000)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(MustParsePlan("!350+440/100,!0/100,350+440"), Options{Rate: 16000})
	if err := Play(context.Background(), s, g, 16000, 700*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f.Seek(0, io.SeekStart)
	rate, pcm, err := ReadWAV(f)
	if err != nil || rate != 16000 || len(pcm) != 11200 {
		t.Fatalf("%d Hz, %d samples, %v", rate, len(pcm), err)
	}
	want := Render(MustParsePlan("!350+440/100,!0/100,350+440"), Options{Rate: 16000}, 700*time.Millisecond)
	for i := range want {
		if pcm[i] != want[i] {
			t.Fatalf("sample %d: %d, want %d", i, pcm[i], want[i])
		}
	}
}
