package agent

import (
	"errors"
	"fmt"
	"maps"
	"reflect"

	"github.com/mwi-agent/mwi-agent/agent/sipua"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

// Manual set and clear, and how they meet the server's word.
//
// Precedence (docs/state.md repeats it):
//
//  1. A manual set or clear applies at once, whatever the state was
//     (subscribed, unsolicited, persisted). Source reads "manual".
//  2. It holds until the server reports a change: a NOTIFY (subscribed or
//     unsolicited) whose mailbox — waiting and counts — equals the last one
//     the server reported before the manual action is a repeat (a refresh)
//     and leaves the manual state in place. A NOTIFY that differs replaces
//     it: the server knows of a new message, or the mailbox was emptied.
//     When the server had reported nothing yet, its first report replaces
//     the manual state.
//  3. A manual state is "known" whatever the subscription's health (a
//     person vouched for it), so a stale subscription does not turn a
//     manual clear into the "cannot know" pattern.
//  4. It is persisted like any state and after a restart is shown as last
//     known, unconfirmed, like any persisted state; the first NOTIFY after
//     the restart replaces it (the baseline of rule 2 is not persisted).

// serverReport is the last mailbox a server reported for an account.
type serverReport struct {
	waiting state.Waiting
	classes map[string]state.Counts
}

func (r serverReport) equal(mb *sipua.Mailbox) bool {
	return r.waiting == mb.Waiting && reflect.DeepEqual(r.classes, mb.Classes)
}

// manualHold records what the server reported and says whether a manual
// state of account i stays in place (rule 2). Runs on the loop.
func (l *loop) manualHold(i int, mb *sipua.Mailbox) bool {
	if l.reports == nil {
		l.reports = map[string]serverReport{}
		l.baseline = map[string]*serverReport{}
	}
	name := l.snap.Accounts[i].Name
	l.reports[name] = serverReport{waiting: mb.Waiting, classes: maps.Clone(mb.Classes)}
	if l.snap.Accounts[i].Source != state.SourceManual {
		return false
	}
	if base := l.baseline[name]; base != nil && base.equal(mb) {
		return true
	}
	delete(l.baseline, name)
	return false
}

// ErrNotRunning is returned for a manual request while the agent is not
// running.
var ErrNotRunning = errors.New("agent: not running")

// Manual applies a manual set or clear (see the precedence above) and
// returns the names of the accounts it changed.
func (a *Agent) Manual(r state.ManualRequest) ([]string, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var (
		names []string
		err   error
	)
	ok := a.do(func(l *loop) {
		waiting, classes := r.Mailbox()
		now := a.clock.Now()
		found := false
		for i := range l.snap.Accounts {
			next := l.snap.Accounts[i]
			acc := &next
			if !r.All && acc.Name != r.Account {
				continue
			}
			found = true
			if l.reports == nil {
				l.reports = map[string]serverReport{}
				l.baseline = map[string]*serverReport{}
			}
			if rep, ok := l.reports[acc.Name]; ok {
				l.baseline[acc.Name] = &rep
			} else {
				delete(l.baseline, acc.Name)
			}
			acc.Waiting, acc.Classes, acc.Source, acc.RestoredFrom, acc.Updated = waiting, maps.Clone(classes), state.SourceManual, state.SourceNone, now
			acc.MessageAccount = ""
			l.put(i, next, now)
			names = append(names, acc.Name)
			t := acc.Total()
			a.log.Info("account state", "account", acc.Name, "waiting", acc.Waiting.String(),
				"new", t.New, "old", t.Old, "urgent", t.UrgentNew, "source", "manual", "health", acc.Health.String())
		}
		if !found {
			err = fmt.Errorf("agent: manual: account %q is not configured", r.Account)
			return
		}
		l.publish()
	})
	if !ok {
		return nil, ErrNotRunning
	}
	return names, err
}
