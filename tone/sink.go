package tone

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// Sink plays 16-bit signed mono PCM. It has the method set of
// hal.AudioSink, so a Sink can be used wherever the HAL wants audio.
type Sink interface {
	Write(pcm []int16) (int, error)
}

// PCMReader is what Play streams from: a Generator or an FSKModulator.
type PCMReader interface {
	Read(buf []int16) (int, error)
}

// Play streams src to sink in 20 ms buffers until src ends, d has been
// played (d ≤ 0: no limit), or ctx ends (then it returns ctx.Err()). Its
// buffer is allocated once.
func Play(ctx context.Context, sink Sink, src PCMReader, rate int, d time.Duration) error {
	if rate <= 0 {
		rate = DefaultSampleRate
	}
	buf := make([]int16, rate/50)
	left := -1
	if d > 0 {
		left = int(d.Seconds()*float64(rate) + 0.5)
	}
	for left != 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := buf
		if left > 0 && left < len(b) {
			b = b[:left]
		}
		n, err := src.Read(b)
		if n > 0 {
			if _, werr := sink.Write(b[:n]); werr != nil {
				return werr
			}
			if left > 0 {
				left -= n
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Aplay is a Sink that pipes raw PCM to ALSA's aplay:
//
//	aplay -q -t raw -f S16_LE -r RATE -c 1 -D DEVICE -
//
// It works on every Raspberry Pi image; device "null" discards the sound
// and needs no sound card. Write blocks while aplay's pipe is full, i.e.
// roughly in real time on a real device.
type Aplay struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *bytes.Buffer
	buf    []byte
	mu     sync.Mutex
	done   chan struct{}
	err    error // from Wait, valid once done is closed
	closed bool
}

var _ Sink = (*Aplay)(nil)

// NewAplay starts aplay on device (empty: "default") at rate Hz (0: 8000).
// The process ends when ctx ends or Close is called.
func NewAplay(ctx context.Context, device string, rate int) (*Aplay, error) {
	if rate <= 0 {
		rate = DefaultSampleRate
	}
	if device == "" {
		device = "default"
	}
	path, err := exec.LookPath("aplay")
	if err != nil {
		return nil, fmt.Errorf("tone: aplay not found (install alsa-utils): %w", err)
	}
	cmd := exec.CommandContext(ctx, path, "-q", "-t", "raw", "-f", "S16_LE", "-r", strconv.Itoa(rate), "-c", "1", "-D", device, "-")
	a := &Aplay{cmd: cmd, stderr: new(bytes.Buffer), done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: a.stderr, mu: &a.mu}
	if a.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("tone: aplay: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tone: aplay: %w", err)
	}
	go func() {
		a.err = cmd.Wait()
		close(a.done)
	}()
	return a, nil
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.w.(*bytes.Buffer); ok && b.Len() > 4096 {
		return len(p), nil // keep the first lines only
	}
	return l.w.Write(p)
}

// Write sends pcm to aplay. Its byte buffer is reused, so steady-state
// writes do not allocate.
func (a *Aplay) Write(pcm []int16) (int, error) {
	select {
	case <-a.done:
		return 0, a.exitError()
	default:
	}
	if cap(a.buf) < 2*len(pcm) {
		a.buf = make([]byte, 2*len(pcm))
	}
	b := a.buf[:2*len(pcm)]
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	n, err := a.stdin.Write(b)
	if err != nil {
		select {
		case <-a.done:
			return n / 2, a.exitError()
		case <-time.After(time.Second):
		}
		return n / 2, fmt.Errorf("tone: aplay: %w", err)
	}
	return len(pcm), nil
}

func (a *Aplay) exitError() error {
	a.mu.Lock()
	msg := bytes.TrimSpace(a.stderr.Bytes())
	a.mu.Unlock()
	if i := bytes.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if a.err == nil {
		return errors.New("tone: aplay exited")
	}
	if len(msg) > 0 {
		return fmt.Errorf("tone: aplay: %s (%w)", msg, a.err)
	}
	return fmt.Errorf("tone: aplay: %w", a.err)
}

// Close ends the input, waits for aplay to play what it has and exit, and
// returns its error, if any.
func (a *Aplay) Close() error {
	if a.closed {
		<-a.done
		return nil
	}
	a.closed = true
	a.stdin.Close()
	<-a.done
	if a.err != nil {
		return a.exitError()
	}
	return nil
}
