package agent

import (
	"maps"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// Restore seeds the mailbox state of configured accounts with the last
// known state read back from state_dir (agent/persist), before Run. Each
// restored account reads Source == state.SourcePersisted: never "known",
// so the lamp shows the "cannot know" pattern and the display and API say
// "last known, unconfirmed" with its age, until the first NOTIFY replaces
// it. Accounts no longer configured are skipped. It returns how many
// accounts were restored; it does nothing once Run has started.
func (a *Agent) Restore(last []state.Account) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running {
		return 0
	}
	n := 0
	for _, r := range last {
		for i := range a.pub.Accounts {
			acc := &a.pub.Accounts[i]
			if acc.Name != r.Name || r.Waiting == state.WaitingUnknown {
				continue
			}
			acc.Waiting, acc.Classes, acc.MessageAccount = r.Waiting, maps.Clone(r.Classes), r.MessageAccount
			acc.Source, acc.RestoredFrom, acc.Updated = state.SourcePersisted, r.RestoredFrom, r.Updated
			n++
		}
	}
	if n > 0 {
		a.pub.Seq++
		a.sharedOK = false
	}
	return n
}
