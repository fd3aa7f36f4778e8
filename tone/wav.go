package tone

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// WriteWAV writes pcm as a RIFF/WAVE file: 16-bit signed little-endian,
// mono, at rate Hz.
func WriteWAV(w io.Writer, rate int, pcm []int16) error {
	if rate <= 0 {
		return fmt.Errorf("tone: wav: bad sample rate %d", rate)
	}
	data := uint32(len(pcm) * 2)
	if len(pcm) > (1<<32-1-36)/2 {
		return fmt.Errorf("tone: wav: %d samples do not fit a WAV file", len(pcm))
	}
	bw := bufio.NewWriter(w)
	var h [44]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+data)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], 1) // mono
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], data)
	if _, err := bw.Write(h[:]); err != nil {
		return fmt.Errorf("tone: wav: %w", err)
	}
	var b [2]byte
	for _, s := range pcm {
		binary.LittleEndian.PutUint16(b[:], uint16(s))
		bw.Write(b[:])
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("tone: wav: %w", err)
	}
	return nil
}

// ErrNotWAV is returned by ReadWAV for input that is not a RIFF/WAVE file.
var ErrNotWAV = errors.New("tone: not a WAV file")

// ReadWAV reads a RIFF/WAVE file of 16-bit PCM. Stereo and multi-channel
// files are reduced to their first channel. Unknown chunks are skipped.
func ReadWAV(r io.Reader) (rate int, pcm []int16, err error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrNotWAV, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return 0, nil, fmt.Errorf("%w: no RIFF/WAVE header", ErrNotWAV)
	}
	channels, bits := 0, 0
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return 0, nil, fmt.Errorf("tone: wav: no data chunk: %v", err)
		}
		id, size := string(ch[0:4]), binary.LittleEndian.Uint32(ch[4:])
		switch id {
		case "fmt ":
			if size < 16 || size > 1<<16 {
				return 0, nil, fmt.Errorf("tone: wav: bad fmt chunk size %d", size)
			}
			f := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, f); err != nil {
				return 0, nil, fmt.Errorf("tone: wav: fmt chunk: %w", err)
			}
			format := binary.LittleEndian.Uint16(f[0:])
			channels = int(binary.LittleEndian.Uint16(f[2:]))
			rate = int(binary.LittleEndian.Uint32(f[4:]))
			bits = int(binary.LittleEndian.Uint16(f[14:]))
			if format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE
				format = binary.LittleEndian.Uint16(f[24:])
			}
			if format != 1 {
				return 0, nil, fmt.Errorf("tone: wav: format %d is not PCM", format)
			}
			if bits != 16 {
				return 0, nil, fmt.Errorf("tone: wav: %d-bit samples, want 16-bit", bits)
			}
			if channels < 1 || rate <= 0 {
				return 0, nil, fmt.Errorf("tone: wav: %d channels at %d Hz", channels, rate)
			}
		case "data":
			if channels == 0 {
				return 0, nil, fmt.Errorf("tone: wav: data before fmt chunk")
			}
			data, err := io.ReadAll(io.LimitReader(r, int64(size)))
			if err != nil {
				return 0, nil, fmt.Errorf("tone: wav: data: %w", err)
			}
			frame := 2 * channels
			pcm = make([]int16, len(data)/frame)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(data[i*frame:]))
			}
			return rate, pcm, nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size&1)); err != nil {
				return 0, nil, fmt.Errorf("tone: wav: chunk %q: %w", id, err)
			}
		}
	}
}

// WAVSink is a Sink that records to a WAV file as it is written; Close
// fills in the sizes in the header. It lets the simulated HAL or a test
// keep what an FXS port would have played.
type WAVSink struct {
	w       io.WriteSeeker
	rate    int
	samples int64
	buf     []byte
	err     error
}

var _ Sink = (*WAVSink)(nil)

// NewWAVSink writes a WAV header for rate Hz to w and returns the sink.
func NewWAVSink(w io.WriteSeeker, rate int) (*WAVSink, error) {
	if rate <= 0 {
		rate = DefaultSampleRate
	}
	s := &WAVSink{w: w, rate: rate}
	var h bytes.Buffer
	if err := WriteWAV(&h, rate, nil); err != nil {
		return nil, err
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return nil, fmt.Errorf("tone: wav: %w", err)
	}
	return s, nil
}

// Write appends pcm to the file.
func (s *WAVSink) Write(pcm []int16) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.samples+int64(len(pcm)) > (1<<32-1-36)/2 {
		s.err = fmt.Errorf("tone: wav: file full")
		return 0, s.err
	}
	if cap(s.buf) < 2*len(pcm) {
		s.buf = make([]byte, 2*len(pcm))
	}
	b := s.buf[:2*len(pcm)]
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	n, err := s.w.Write(b)
	s.samples += int64(n / 2)
	if err != nil {
		s.err = fmt.Errorf("tone: wav: %w", err)
		return n / 2, s.err
	}
	return len(pcm), nil
}

// Close writes the final sizes into the header. It does not close w.
func (s *WAVSink) Close() error {
	if s.err != nil {
		return s.err
	}
	data := uint32(s.samples * 2)
	var b [4]byte
	for _, f := range []struct {
		off int64
		v   uint32
	}{{4, 36 + data}, {40, data}} {
		binary.LittleEndian.PutUint32(b[:], f.v)
		if _, err := s.w.Seek(f.off, io.SeekStart); err != nil {
			return fmt.Errorf("tone: wav: %w", err)
		}
		if _, err := s.w.Write(b[:]); err != nil {
			return fmt.Errorf("tone: wav: %w", err)
		}
	}
	_, err := s.w.Seek(0, io.SeekEnd)
	return err
}
