package sipua

import (
	"testing"
	"time"
)

func TestRefreshDelay(t *testing.T) {
	for _, tt := range []struct{ granted, want time.Duration }{
		{3600 * time.Second, 3240 * time.Second},
		{600 * time.Second, 540 * time.Second},
		{120 * time.Second, 88 * time.Second},
		{60 * time.Second, 30 * time.Second},
		{2 * time.Second, time.Second},
		{0, 0},
	} {
		if got := RefreshDelay(tt.granted); got != tt.want {
			t.Errorf("RefreshDelay(%v) = %v, want %v", tt.granted, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Base: 2 * time.Second, Max: 60 * time.Second}
	mid := func() float64 { return 0.5 } // no jitter
	for _, tt := range []struct {
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, 2 * time.Second},
		{2, 0, 4 * time.Second},
		{3, 0, 8 * time.Second},
		{10, 0, 60 * time.Second},
		{100, 0, 60 * time.Second},
		{1, 30 * time.Second, 30 * time.Second}, // Retry-After longer than the backoff wins
		{6, 5 * time.Second, 60 * time.Second},  // shorter Retry-After does not shorten it
	} {
		if got := b.Delay(tt.attempt, tt.retryAfter, mid); got != tt.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.attempt, tt.retryAfter, got, tt.want)
		}
	}
	lo, hi := b.Delay(3, 0, func() float64 { return 0 }), b.Delay(3, 0, func() float64 { return 0.999999 })
	if lo != 6*time.Second || hi < 9990*time.Millisecond || hi > 10*time.Second {
		t.Errorf("jitter range = [%v, %v], want [6s, 10s)", lo, hi)
	}
}
