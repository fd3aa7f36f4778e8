package service

import (
	"bytes"
	"fmt"
	"runtime"
	"sort"
	"strings"
)

// StackGroup is a set of goroutines with the same state and call stack.
type StackGroup struct {
	Count int
	State string   // "chan receive", "select", "running", ... (no wait time)
	Funcs []string // innermost first, package-qualified, no arguments
}

// String is one line: "12 × select: a.f < b.g < c.h".
func (g StackGroup) String() string {
	return fmt.Sprintf("%d × %s: %s", g.Count, g.State, strings.Join(g.Funcs, " < "))
}

// Stacks groups the goroutines of this process by identical state and
// stack, the largest group first. A watchdog report built from it names
// where the agent's goroutines are in a line per group, where the Go
// runtime's SIGABRT dump prints every goroutine with arguments and file
// positions (about 400 journal lines with 8 accounts, thousands with 256).
func Stacks() []StackGroup {
	buf := make([]byte, 256<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= 16<<20 {
			return ParseStacks(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// ParseStacks groups a runtime.Stack(all) dump (the format of a Go
// traceback: "goroutine N [state, 3 minutes]:" then two lines per frame,
// "pkg.fn(args)" and "\tfile:line +0xoff"; "created by" lines end a stack).
func ParseStacks(dump []byte) []StackGroup {
	groups := map[string]*StackGroup{}
	for _, block := range bytes.Split(dump, []byte("\n\n")) {
		lines := strings.Split(strings.TrimSpace(string(block)), "\n")
		if len(lines) == 0 || !strings.HasPrefix(lines[0], "goroutine ") {
			continue
		}
		state := ""
		if i, j := strings.IndexByte(lines[0], '['), strings.LastIndexByte(lines[0], ']'); i >= 0 && j > i {
			state = lines[0][i+1 : j]
			// "chan receive, 3 minutes" / "select, locked to thread"
			state, _, _ = strings.Cut(state, ",")
		}
		var funcs []string
		for _, l := range lines[1:] {
			if l == "" || l[0] == '\t' {
				continue // file:line
			}
			if strings.HasPrefix(l, "created by ") {
				l = strings.TrimPrefix(l, "created by ")
				l, _, _ = strings.Cut(l, " in goroutine ")
				funcs = append(funcs, "created by "+l)
				break
			}
			if strings.HasPrefix(l, "...") {
				funcs = append(funcs, "...")
				continue
			}
			if i := strings.LastIndexByte(l, '('); i > 0 {
				l = l[:i]
			}
			funcs = append(funcs, l)
		}
		key := state + "\x00" + strings.Join(funcs, "\x00")
		if g := groups[key]; g != nil {
			g.Count++
			continue
		}
		groups[key] = &StackGroup{Count: 1, State: state, Funcs: funcs}
	}
	out := make([]StackGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return strings.Join(out[i].Funcs, " ") < strings.Join(out[j].Funcs, " ")
	})
	return out
}
