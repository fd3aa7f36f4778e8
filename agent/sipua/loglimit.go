package sipua

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// logLimiter lets through at most burst lines per kind in every period;
// the first line after a quiet spell carries how many were suppressed.
// A flood of refused or garbage packets thus costs a handful of log lines
// a minute, not one per packet.
type logLimiter struct {
	log    *slog.Logger
	now    func() time.Time
	period time.Duration
	burst  int

	mu    sync.Mutex
	kinds map[string]*logKind
}

type logKind struct {
	start      time.Time
	n          int
	suppressed int
}

// maxLogKinds bounds the per-kind table: kinds are fixed strings in this
// package, never built from packet contents.
const maxLogKinds = 64

func newLogLimiter(log *slog.Logger, now func() time.Time) *logLimiter {
	return &logLimiter{log: log, now: now, period: time.Minute, burst: 5, kinds: map[string]*logKind{}}
}

// Log writes msg at level unless kind is over its budget.
func (l *logLimiter) Log(level slog.Level, kind, msg string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.mu.Lock()
	k := l.kinds[kind]
	if k == nil {
		if len(l.kinds) >= maxLogKinds {
			l.mu.Unlock()
			return
		}
		k = &logKind{}
		l.kinds[kind] = k
	}
	now := l.now()
	if now.Sub(k.start) >= l.period {
		k.start, k.n = now, 0
	}
	if k.n >= l.burst {
		k.suppressed++
		l.mu.Unlock()
		return
	}
	k.n++
	sup := k.suppressed
	k.suppressed = 0
	l.mu.Unlock()
	if sup > 0 {
		args = append(args, "suppressed_before", sup)
	}
	l.log.Log(context.Background(), level, msg, args...)
}

// maxLoggedBytes is how much of a datagram a log line shows.
const maxLoggedBytes = 200

// truncated is data for a log line: at most maxLoggedBytes (the handler
// escapes what is not text), with the full length when cut.
func truncated(data []byte) string {
	if len(data) <= maxLoggedBytes {
		return string(data)
	}
	return string(data[:maxLoggedBytes]) + "…(" + strconv.Itoa(len(data)) + " bytes)"
}

// acctLog logs for one account: the UA's logger with the account's name
// added at the call, rather than a logger per account (slog's With clones
// the handler: about 140 bytes an account, for lines that are rare).
type acctLog struct{ a *account }

func (a *account) log() acctLog { return acctLog{a} }

func (l acctLog) emit(level slog.Level, msg string, args []any) {
	lg := l.a.u.log
	if !lg.Enabled(context.Background(), level) {
		return
	}
	lg.Log(context.Background(), level, msg, append([]any{"account", l.a.cfg.Name}, args...)...)
}

func (l acctLog) Debug(msg string, args ...any) { l.emit(slog.LevelDebug, msg, args) }
func (l acctLog) Info(msg string, args ...any)  { l.emit(slog.LevelInfo, msg, args) }
func (l acctLog) Warn(msg string, args ...any)  { l.emit(slog.LevelWarn, msg, args) }
func (l acctLog) Error(msg string, args ...any) { l.emit(slog.LevelError, msg, args) }
