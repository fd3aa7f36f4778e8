//go:build linux

package alsa

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	ga "github.com/gen2brain/alsa"
	"github.com/mwi-agent/mwi-agent/hal"
)

// Sink plays mono 16-bit PCM on one ALSA playback device.
type Sink struct {
	name     string
	mu       sync.Mutex
	pcm      *ga.PCM
	rate     int
	channels int
	latency  time.Duration
	buf      []int16
	xruns    int
	lastErr  error
	closed   bool
}

var _ hal.TimedSink = (*Sink)(nil)

// CardNumber resolves a card number or id ("Loopback", "Headphones") with
// /proc/asound.
func CardNumber(card string) (int, error) {
	if n, err := strconv.Atoi(card); err == nil && n >= 0 {
		return n, nil
	}
	target, err := os.Readlink(filepath.Join("/proc/asound", card))
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(target), "card")); err == nil {
			return n, nil
		}
	}
	cards, _ := os.ReadFile("/proc/asound/cards")
	have := strings.TrimSpace(string(cards))
	if have == "" || strings.Contains(have, "no soundcards") {
		have = "this machine has no sound card"
	}
	return 0, fmt.Errorf("alsa: no sound card %q (/proc/asound/cards: %s)", card, oneLine(have))
}

func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

// Open opens device for playback (see the package comment for names).
func Open(device string, opt Options) (*Sink, error) {
	opt = opt.withDefaults()
	d, err := ParseDevice(device)
	if err != nil {
		return nil, err
	}
	card, err := CardNumber(d.Card)
	if err != nil {
		return nil, err
	}
	period := uint32(opt.Rate) * uint32(opt.Period/time.Microsecond) / 1e6
	var pcm *ga.PCM
	var errs []string
	channels := 1
	for _, ch := range []int{1, 2} { // mono, or both channels of a stereo-only card
		cfg := ga.Config{
			Channels:       uint32(ch),
			Rate:           uint32(opt.Rate),
			Format:         ga.SNDRV_PCM_FORMAT_S16_LE,
			PeriodSize:     period,
			PeriodCount:    uint32(opt.Periods),
			StartThreshold: 1, // play at once: the first sample written starts the stream
		}
		// PCM_NORESTART: an underrun comes back as EPIPE and Write
		// recovers from it (the library's own recovery, v0.5.0, retries
		// without re-preparing the stream and spins forever).
		pcm, err = ga.PcmOpen(uint(card), uint(d.Device), ga.PCM_OUT|ga.PCM_NORESTART, &cfg)
		if err == nil {
			channels = ch
			break
		}
		errs = append(errs, fmt.Sprintf("%d channel(s): %v", ch, err))
	}
	if pcm == nil {
		return nil, fmt.Errorf("alsa: opening %q (card %d, device %d) for 16-bit playback: %s", device, card, d.Device, strings.Join(errs, "; "))
	}
	c := pcm.Config()
	s := &Sink{name: device, pcm: pcm, rate: int(c.Rate), channels: channels}
	s.latency = time.Duration(pcm.BufferSize()) * time.Second / time.Duration(s.rate)
	return s, nil
}

// Rate is the sample rate the card runs at.
func (s *Sink) Rate() int { return s.rate }

// Latency is the buffer: the most audio written but not yet heard.
func (s *Sink) Latency() time.Duration { return s.latency }

// Channels is 1, or 2 on a card without mono.
func (s *Sink) Channels() int { return s.channels }

// Write plays pcm, blocking while the buffer is full. An underrun (the
// writer was late) restarts the stream at once.
func (s *Sink) Write(pcm []int16) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("alsa: %s: %w", s.name, hal.ErrClosed)
	}
	if len(pcm) == 0 {
		return 0, nil
	}
	data := pcm
	if s.channels == 2 {
		if cap(s.buf) < 2*len(pcm) {
			s.buf = make([]int16, 2*len(pcm))
		}
		data = s.buf[:2*len(pcm)]
		for i, v := range pcm {
			data[2*i], data[2*i+1] = v, v
		}
	}
	written := 0
	for tries := 0; written < len(data)/s.channels; tries++ {
		n, err := s.pcm.Write(data[written*s.channels:])
		written += n
		if err == nil {
			continue
		}
		if tries < 10 && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ESTRPIPE) || errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EBADFD)) {
			// Underrun (the writer was late), or a stream the driver
			// stopped: prepare and go on; the write starts it again.
			s.xruns++
			s.lastErr = err
			// DROP first: a driver that stopped the stream with EIO may
			// still call it running, and PREPARE refuses a running stream.
			_ = s.pcm.Stop()
			if perr := s.pcm.Prepare(); perr != nil {
				return written, fmt.Errorf("alsa: %s: recovering from %v: %w", s.name, err, perr)
			}
			continue
		}
		return written, fmt.Errorf("alsa: %s: %w", s.name, err)
	}
	return written, nil
}

// Xruns counts the underruns (and driver stops) Write recovered from, and
// the last such error.
func (s *Sink) Xruns() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.xruns, s.lastErr
}

// Drain blocks until everything written has been played.
func (s *Sink) Drain() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("alsa: %s: %w", s.name, hal.ErrClosed)
	}
	switch s.pcm.State() {
	case ga.SNDRV_PCM_STATE_RUNNING, ga.SNDRV_PCM_STATE_PREPARED:
	default:
		return nil // nothing queued
	}
	if err := s.pcm.Drain(); err != nil {
		if errors.Is(err, syscall.EPIPE) {
			return nil // ran dry just before: everything was played
		}
		return fmt.Errorf("alsa: %s: drain: %w", s.name, err)
	}
	return nil
}

// Flush drops what has not been played, at once.
func (s *Sink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("alsa: %s: %w", s.name, hal.ErrClosed)
	}
	if s.pcm.State() != ga.SNDRV_PCM_STATE_RUNNING && s.pcm.State() != ga.SNDRV_PCM_STATE_PREPARED {
		return nil
	}
	if err := s.pcm.Stop(); err != nil {
		return fmt.Errorf("alsa: %s: flush: %w", s.name, err)
	}
	return nil
}

// Close drops what is queued and closes the device.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.pcm.Close()
}
