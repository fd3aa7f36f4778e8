//go:build !linux

package alsa

import (
	"fmt"
	"runtime"
	"time"
)

// Sink is the ALSA sink; on this system Open always fails.
type Sink struct{}

// Open needs Linux.
func Open(device string, opt Options) (*Sink, error) {
	return nil, fmt.Errorf("%w (this is %s)", ErrUnsupported, runtime.GOOS)
}

func (*Sink) Write(pcm []int16) (int, error) { return 0, ErrUnsupported }
func (*Sink) Drain() error                   { return ErrUnsupported }
func (*Sink) Flush() error                   { return ErrUnsupported }
func (*Sink) Latency() time.Duration         { return 0 }
func (*Sink) Rate() int                      { return 0 }
func (*Sink) Close() error                   { return nil }
