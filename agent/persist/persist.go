package persist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/internal/jsonv"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

// FileName is the state file's name in state_dir.
const FileName = "state.json"

// MinGap is the shortest time between two writes while the state changes.
const MinGap = time.Second

const (
	magic   = "mwi-agent-state"
	version = 1
)

// ErrCorrupt is wrapped by Load's error for a file that is not a complete,
// intact state file of this format (truncated, damaged, foreign).
var ErrCorrupt = errors.New("persist: not an intact mwi-agent state file")

// Account is one account's last known mailbox state as stored.
type Account struct {
	Name           string                  `json:"name"`
	Waiting        string                  `json:"waiting"` // yes|no
	Classes        map[string]state.Counts `json:"classes,omitempty"`
	MessageAccount string                  `json:"message_account,omitempty"`
	Source         string                  `json:"source"`  // subscribed|unsolicited|manual
	Updated        time.Time               `json:"updated"` // last confirmed update
}

type body struct {
	Saved    time.Time `json:"saved"`
	Accounts []Account `json:"accounts"`
}

// FromSnapshot picks what is worth keeping: every account with known
// mailbox information. A state that is itself persisted (not confirmed
// since the start) is kept as it was read, with its original source and
// time, so its age keeps growing across restarts.
func FromSnapshot(s state.Snapshot) []Account {
	var out []Account
	for _, a := range s.Accounts {
		if a.Waiting == state.WaitingUnknown || a.Updated.IsZero() {
			continue
		}
		src := a.Source
		if src == state.SourcePersisted {
			src = a.RestoredFrom
		}
		if src == state.SourceNone || src == state.SourcePersisted {
			continue
		}
		out = append(out, Account{
			Name: a.Name, Waiting: a.Waiting.String(), Classes: maps.Clone(a.Classes),
			MessageAccount: a.MessageAccount, Source: src.String(), Updated: a.Updated.UTC(),
		})
	}
	return out
}

// Restored converts a stored account into the agent's state: the counts
// and time it had, Source = SourcePersisted, RestoredFrom = its source.
func (r Account) Restored() (state.Account, error) {
	var a state.Account
	switch r.Waiting {
	case "yes":
		a.Waiting = state.WaitingYes
	case "no":
		a.Waiting = state.WaitingNo
	default:
		return a, fmt.Errorf("persist: account %q: waiting %q is not yes or no", r.Name, r.Waiting)
	}
	src, err := state.ParseSource(r.Source)
	if err != nil || src == state.SourceNone || src == state.SourcePersisted {
		return a, fmt.Errorf("persist: account %q: source %q is not subscribed, unsolicited or manual", r.Name, r.Source)
	}
	a.Name, a.Classes, a.MessageAccount, a.Updated = r.Name, maps.Clone(r.Classes), r.MessageAccount, r.Updated
	a.Source, a.RestoredFrom = state.SourcePersisted, src
	return a, nil
}

// Encode returns the file's bytes: a header line
// "mwi-agent-state 1 LENGTH CRC32\n" and the JSON body.
func Encode(saved time.Time, accts []Account) ([]byte, error) {
	if accts == nil {
		accts = []Account{}
	}
	b, err := json.Marshal(body{Saved: saved.UTC(), Accounts: accts})
	if err != nil {
		return nil, fmt.Errorf("persist: %w", err)
	}
	head := fmt.Sprintf("%s %d %d %08x\n", magic, version, len(b), crc32.ChecksumIEEE(b))
	return append([]byte(head), b...), nil
}

// Decode parses a file's bytes. Anything but an intact file of this format
// and version is an error wrapping ErrCorrupt that says what is wrong.
func Decode(data []byte) (saved time.Time, accts []Account, err error) {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || nl > 80 {
		return time.Time{}, nil, fmt.Errorf("%w: no header line", ErrCorrupt)
	}
	f := strings.Fields(string(data[:nl]))
	if len(f) != 4 || f[0] != magic {
		return time.Time{}, nil, fmt.Errorf("%w: header %q", ErrCorrupt, data[:nl])
	}
	if f[1] != strconv.Itoa(version) {
		return time.Time{}, nil, fmt.Errorf("%w: version %q (this agent reads %d)", ErrCorrupt, f[1], version)
	}
	n, err := strconv.Atoi(f[2])
	b := data[nl+1:]
	if err != nil || n != len(b) {
		return time.Time{}, nil, fmt.Errorf("%w: length %q, %d bytes present (truncated?)", ErrCorrupt, f[2], len(b))
	}
	if sum := fmt.Sprintf("%08x", crc32.ChecksumIEEE(b)); sum != f[3] {
		return time.Time{}, nil, fmt.Errorf("%w: checksum %s, header says %s", ErrCorrupt, sum, f[3])
	}
	var bd body
	dec := jsonv.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&bd); err != nil {
		return time.Time{}, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return bd.Saved, bd.Accounts, nil
}

// Load reads dir/state.json. A missing file is (nil, nil, error wrapping
// os.ErrNotExist); a damaged or foreign one an error wrapping ErrCorrupt.
// Accounts that do not convert (an unknown source, say) are left out and
// reported in the error joined to the result.
func Load(dir string) (saved time.Time, accts []state.Account, err error) {
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("persist: %w", err)
	}
	saved, recs, err := Decode(data)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("%w (%s)", err, filepath.Join(dir, FileName))
	}
	var errs []error
	for _, r := range recs {
		a, err := r.Restored()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		accts = append(accts, a)
	}
	return saved, accts, errors.Join(errs...)
}

// Write stores accts in dir/state.json atomically: a temporary file is
// written and fsynced, renamed over the old file, and the directory is
// fsynced. On any error the old file is untouched.
func Write(dir string, saved time.Time, accts []Account) error {
	data, err := Encode(saved, accts)
	if err != nil {
		return err
	}
	return writeAtomic(dir, FileName, data)
}

func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // make the rename itself durable; not possible everywhere
		_ = d.Close()
	}
	return nil
}

// Source is the part of *agent.Agent the saver needs.
type Source interface {
	Snapshot() state.Snapshot
	Watch(ctx context.Context) <-chan state.Snapshot
}

// Saver writes the last known state of a running agent.
type Saver struct {
	Dir    string
	Source Source
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now
	Gap    time.Duration    // 0: MinGap

	last []Account // what the file holds
	at   time.Time // when it was written
	n    atomic.Int64
}

// Writes is how many times the file was written.
func (s *Saver) Writes() int { return int(s.n.Load()) }

// Run saves every change (at most one write per Gap, the latest state
// last) until ctx ends, then saves the final state once more and returns
// ctx.Err(). Write errors are logged, not fatal: the lamp goes on.
func (s *Saver) Run(ctx context.Context) error {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	gap := s.Gap
	if gap <= 0 {
		gap = MinGap
	}
	wctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	snaps := s.Source.Watch(wctx)
	var (
		pending []Account
		dirty   bool
		timer   *time.Timer
		timerC  <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			s.save(FromSnapshot(s.Source.Snapshot()))
			return ctx.Err()
		case snap, ok := <-snaps:
			if !ok {
				return ctx.Err()
			}
			pending, dirty = FromSnapshot(snap), true
		case <-timerC:
			timerC = nil
		}
		if !dirty || timerC != nil {
			continue
		}
		if wait := gap - s.Now().Sub(s.at); !s.at.IsZero() && wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			timerC = timer.C
			continue
		}
		s.save(pending)
		dirty = false
	}
}

// save writes accts unless the file already holds them.
func (s *Saver) save(accts []Account) {
	if s.n.Load() > 0 && reflect.DeepEqual(accts, s.last) {
		return
	}
	now := s.Now()
	if err := Write(s.Dir, now, accts); err != nil {
		s.Logger.Warn("persist: last known state not saved", "dir", s.Dir, "err", err)
		return
	}
	s.last, s.at = accts, now
	s.n.Add(1)
}

// Restorer is the part of *agent.Agent that takes the restored state.
type Restorer interface {
	Restore(last []state.Account) int
}

// RestoreInto loads dir's state file into r (before r runs): shown as
// "last known, unconfirmed" until the server confirms it. A missing file
// is normal (nothing logged); a damaged or foreign one is reported and
// ignored; accounts that do not convert are reported and left out. It
// returns how many accounts were restored.
func RestoreInto(r Restorer, dir string, log *slog.Logger) int {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	saved, last, err := Load(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return 0
	case errors.Is(err, ErrCorrupt):
		log.Warn("persist: last known state ignored", "err", err)
		return 0
	case err != nil:
		log.Warn("persist: some accounts' last known state ignored", "err", err)
	}
	n := r.Restore(last)
	log.Info("persist: last known state restored, unconfirmed until the server reports", "accounts", n, "saved", saved.Format(time.RFC3339))
	return n
}
