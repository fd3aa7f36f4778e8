package service

import (
	"strings"
	"sync"
	"testing"
)

const sampleDump = `goroutine 1 [running]:
main.main()
	/src/main.go:10 +0x1d

goroutine 7 [chan receive, 3 minutes]:
github.com/mwi-agent/mwi-agent/agent/sipua.(*account).run(0xc000123000, {0x9a, 0xc0})
	/src/agent/sipua/account.go:120 +0x85
created by github.com/mwi-agent/mwi-agent/agent/sipua.(*UA).Start in goroutine 1
	/src/agent/sipua/ua.go:80 +0x1f

goroutine 8 [chan receive]:
github.com/mwi-agent/mwi-agent/agent/sipua.(*account).run(0xc000124000, {0x9b, 0xc1})
	/src/agent/sipua/account.go:120 +0x85
created by github.com/mwi-agent/mwi-agent/agent/sipua.(*UA).Start in goroutine 1
	/src/agent/sipua/ua.go:80 +0x1f

goroutine 9 [select, locked to thread]:
runtime.ensureSigM.func1()
	/go/src/runtime/signal_unix.go:1060 +0x1c5
`

func TestParseStacksGroupsIdenticalStacks(t *testing.T) {
	g := ParseStacks([]byte(sampleDump))
	if len(g) != 3 {
		t.Fatalf("got %d groups, want 3: %v", len(g), g)
	}
	want := "2 × chan receive: github.com/mwi-agent/mwi-agent/agent/sipua.(*account).run < created by github.com/mwi-agent/mwi-agent/agent/sipua.(*UA).Start"
	if g[0].String() != want {
		t.Fatalf("largest group:\n got  %s\n want %s", g[0], want)
	}
	for _, x := range g[1:] {
		if x.Count != 1 {
			t.Fatalf("group %v", x)
		}
	}
	if g[2].State != "select" || g[2].Funcs[0] != "runtime.ensureSigM.func1" {
		t.Fatalf("state/func of %v", g[2])
	}
}

// The live dump of this process: 50 goroutines parked in the same place
// are one group of at least 50.
func TestStacksOfThisProcess(t *testing.T) {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); parkHere(stop) }()
	}
	defer func() { close(stop); wg.Wait() }()
	var found bool
	for range 100 { // the goroutines may not all be parked yet
		for _, g := range Stacks() {
			if g.Count >= 50 && strings.Contains(strings.Join(g.Funcs, " "), "service.parkHere") {
				found = true
			}
		}
		if found {
			break
		}
	}
	if !found {
		t.Fatalf("no group of 50 parked goroutines in %v", Stacks())
	}
}

//go:noinline
func parkHere(stop chan struct{}) { <-stop }
