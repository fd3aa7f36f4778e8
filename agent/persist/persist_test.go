package persist

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

func randomAccounts(r *rand.Rand) []Account {
	n := r.IntN(6)
	var out []Account
	srcs := []string{"subscribed", "unsolicited", "manual"}
	for i := range n {
		a := Account{
			Name:    fmt.Sprintf("acc-%d-%d", i, r.IntN(1000)),
			Waiting: []string{"yes", "no"}[r.IntN(2)],
			Source:  srcs[r.IntN(3)],
			Updated: time.Unix(r.Int64N(2e9), 0).UTC(),
		}
		if r.IntN(2) == 0 {
			a.Classes = map[string]state.Counts{state.ClassVoice: {New: r.Uint32(), Old: r.Uint32N(100), UrgentNew: r.Uint32N(3)}}
		}
		if r.IntN(3) == 0 {
			a.MessageAccount = "sip:" + strconv.Itoa(r.IntN(9999)) + "@pbx.example.com"
		}
		out = append(out, a)
	}
	return out
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		in := randomAccounts(r)
		saved := time.Unix(r.Int64N(2e9), 0).UTC()
		b, err := Encode(saved, in)
		if err != nil {
			t.Fatal(err)
		}
		gotSaved, got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode of a whole file: %v", err)
		}
		if in == nil {
			in = []Account{}
		}
		if !gotSaved.Equal(saved) || !reflect.DeepEqual(got, in) {
			t.Fatalf("round trip: got %v %+v, want %v %+v", gotSaved, got, saved, in)
		}
	}
}

// TestTruncatedWritesNeverDecode is the property behind "kill -9 mid-write
// never corrupts the file": every proper prefix of a file (what a crash
// without the atomic rename could leave) and every single-byte change is
// recognised as damaged, never read as a different state.
func TestTruncatedWritesNeverDecode(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		b, err := Encode(time.Unix(1, 0), randomAccounts(r))
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(b); n++ {
			if _, _, err := Decode(b[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("prefix %d/%d of %q decoded (err %v)", n, len(b), b, err)
			}
		}
		c := append([]byte(nil), b...)
		i := r.IntN(len(c))
		c[i] ^= byte(1 + r.IntN(255))
		if _, _, err := Decode(c); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d changed in %q: decoded (err %v)", i, c, err)
		}
	}
}

// TestCrashLeavesOldOrNew writes over an existing file and simulates a
// crash at every step of the atomic write: a truncated temporary file
// next to the old file must leave Load reading the old state.
func TestCrashLeavesOldOrNew(t *testing.T) {
	dir := t.TempDir()
	old := []Account{{Name: "a", Waiting: "yes", Source: "subscribed", Updated: time.Unix(100, 0).UTC()}}
	if err := Write(dir, time.Unix(100, 0), old); err != nil {
		t.Fatal(err)
	}
	next, _ := Encode(time.Unix(200, 0), []Account{{Name: "a", Waiting: "no", Source: "manual", Updated: time.Unix(200, 0).UTC()}})
	for n := 0; n < len(next); n += 7 {
		if err := os.WriteFile(filepath.Join(dir, "."+FileName+".tmp-crash"), next[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		_, got, err := Load(dir)
		if err != nil || len(got) != 1 || got[0].Waiting != state.WaitingYes {
			t.Fatalf("after a crash at byte %d: %+v, %v", n, got, err)
		}
	}
}

func TestLoadReportsForeignAndMissing(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Load(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	for _, content := range []string{"", "hello\n", `{"accounts":[]}`, "mwi-agent-state 2 2 00000000\n{}", "mwi-agent-state 1 2 00000000\n{}"} {
		os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o600)
		_, got, err := Load(dir)
		if !errors.Is(err, ErrCorrupt) || got != nil {
			t.Errorf("file %q: %v, %v", content, got, err)
		}
	}
	// A well-formed file with one bad record keeps the good ones.
	Write(dir, time.Unix(1, 0), []Account{
		{Name: "good", Waiting: "yes", Source: "subscribed", Updated: time.Unix(5, 0).UTC()},
		{Name: "bad", Waiting: "maybe", Source: "subscribed"},
		{Name: "bad2", Waiting: "no", Source: "persisted"},
	})
	_, got, err := Load(dir)
	if err == nil || len(got) != 1 || got[0].Name != "good" || got[0].Source != state.SourcePersisted || got[0].RestoredFrom != state.SourceSubscribed {
		t.Fatalf("got %+v, %v", got, err)
	}
	t.Log(err)
}

// TestKillDuringWrites kills (SIGKILL) a process that rewrites the file in
// a tight loop, at random moments while it writes; the file always loads
// whole. The writer says when its first write is done, and the random
// moment is counted from then: on a loaded machine a child can take longer
// than any fixed delay to start, and a kill before its first write tests
// nothing (with no file yet from an earlier round, it even looked like a
// lost file).
func TestKillDuringWrites(t *testing.T) {
	if os.Getenv("PERSIST_WRITER_DIR") != "" {
		writerLoop(os.Getenv("PERSIST_WRITER_DIR"))
		return
	}
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringWrites$")
		cmd.Env = append(os.Environ(), "PERSIST_WRITER_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		started := make(chan error, 1)
		go func() {
			line, err := bufio.NewReader(out).ReadString('\n')
			if err == nil && line != "writing\n" {
				err = fmt.Errorf("writer said %q", line)
			}
			started <- err
			io.Copy(io.Discard, out)
		}()
		select {
		case err := <-started:
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("round %d: the writer did not start writing: %v", i, err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: no first write within 30 s", i)
		}
		time.Sleep(time.Duration(r.IntN(50)) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL, by PID
		cmd.Wait()
		_, got, err := Load(dir)
		if err != nil || len(got) == 0 {
			t.Fatalf("round %d: after kill -9: %+v, %v", i, got, err)
		}
	}
}

// writerLoop rewrites the file until killed, saying "writing" on stdout
// once the first write is done.
func writerLoop(dir string) {
	r := rand.New(rand.NewPCG(uint64(os.Getpid()), 7))
	for i := 0; ; i++ {
		accts := randomAccounts(r)
		accts = append(accts, Account{Name: "always", Waiting: "yes", Source: "subscribed", Updated: time.Unix(int64(i), 0).UTC(),
			Classes: map[string]state.Counts{state.ClassVoice: {New: uint32(i)}}})
		if err := Write(dir, time.Now(), accts); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if i == 0 {
			fmt.Println("writing")
		}
	}
}

type fakeSource struct {
	mu   sync.Mutex
	snap state.Snapshot
	ch   chan state.Snapshot
}

func (f *fakeSource) Snapshot() state.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.Clone()
}

func (f *fakeSource) Watch(ctx context.Context) <-chan state.Snapshot { return f.ch }

func (f *fakeSource) set(n uint32) {
	f.mu.Lock()
	f.snap = state.Snapshot{Accounts: []state.Account{{Name: "a", Waiting: state.WaitingYes, Source: state.SourceSubscribed,
		Updated: time.Now(), Classes: map[string]state.Counts{state.ClassVoice: {New: n}}}}}
	s := f.snap.Clone()
	f.mu.Unlock()
	f.ch <- s
}

// TestSaverRate: a burst of changes is written at most once per second,
// the latest state last, and the final state at shutdown.
func TestSaverRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		src := &fakeSource{ch: make(chan state.Snapshot)}
		s := &Saver{Dir: dir, Source: src}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		for n := range uint32(50) { // 50 changes in 2.5 s
			src.set(n)
			time.Sleep(50 * time.Millisecond)
		}
		synctest.Wait()
		if n := s.Writes(); n < 2 || n > 4 {
			t.Errorf("%d writes for 50 changes in 2.5 s, want 2..4 (one per second)", n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		_, got, _ := Load(dir)
		if len(got) != 1 || got[0].Classes[state.ClassVoice].New != 49 {
			t.Errorf("after the burst the file holds %+v, want new=49", got)
		}
		src.mu.Lock()
		src.snap.Accounts[0].Classes = map[string]state.Counts{state.ClassVoice: {New: 99}}
		src.mu.Unlock()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		_, got, _ = Load(dir)
		if len(got) != 1 || got[0].Classes[state.ClassVoice].New != 99 {
			t.Errorf("after shutdown the file holds %+v, want new=99", got)
		}
	})
}

type restorer struct{ got []state.Account }

func (r *restorer) Restore(last []state.Account) int { r.got = last; return len(last) }

func TestRestoreIntoReportsAndIgnores(t *testing.T) {
	dir := t.TempDir()
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	r := &restorer{}
	if n := RestoreInto(r, dir, log); n != 0 || logs.Len() != 0 {
		t.Errorf("no file: %d, log %q", n, logs.String())
	}
	os.WriteFile(filepath.Join(dir, FileName), []byte("mwi-agent-state 1 999 00000000\n{\"accounts\":[]}"), 0o600)
	if n := RestoreInto(r, dir, log); n != 0 || !strings.Contains(logs.String(), "last known state ignored") || r.got != nil {
		t.Errorf("corrupt file: %d, log %q", n, logs.String())
	}
	Write(dir, time.Unix(9, 0), []Account{{Name: "a", Waiting: "yes", Source: "manual", Updated: time.Unix(9, 0).UTC()}})
	if n := RestoreInto(r, dir, log); n != 1 || r.got[0].RestoredFrom != state.SourceManual {
		t.Errorf("good file: %d %+v", n, r.got)
	}
}
