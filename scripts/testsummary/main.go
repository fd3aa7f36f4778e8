// Command testsummary reads "go test -json" output on stdin and prints a
// short human summary: one line per package, the full output of every failed
// test, and a last line "go test: N passed, N failed, N skipped".
// scripts/test.sh uses it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	out := map[string]*strings.Builder{} // package/test -> output
	pkgResult := map[string]string{}
	pkgElapsed := map[string]float64{}
	var failedTests []string
	skipReasons := map[string]string{}
	passed, failed, skipped := 0, 0, 0
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Println(sc.Text()) // build errors and the like
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			b := out[key]
			if b == nil {
				b = &strings.Builder{}
				out[key] = b
			}
			b.WriteString(e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				pkgResult[e.Package] = e.Action
				pkgElapsed[e.Package] = e.Elapsed
				continue
			}
			if strings.Contains(e.Test, "/") { // subtests count through their parent
				if e.Action == "fail" {
					failedTests = append(failedTests, key)
				}
				continue
			}
			switch e.Action {
			case "pass":
				passed++
			case "fail":
				failed++
				failedTests = append(failedTests, key)
			case "skip":
				skipped++
				if b := out[key]; b != nil {
					skipReasons[key] = lastLine(b.String())
				}
			}
		}
	}
	// A package that failed without a failing test (a panic, a build error,
	// a timeout) still counts as one failure.
	for p, r := range pkgResult {
		if r != "fail" {
			continue
		}
		found := false
		for _, k := range failedTests {
			if strings.HasPrefix(k, p+" ") {
				found = true
			}
		}
		if !found {
			failed++
		}
	}
	pkgs := make([]string, 0, len(pkgResult))
	for p := range pkgResult {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		r := map[string]string{"pass": "ok  ", "fail": "FAIL", "skip": "----"}[pkgResult[p]]
		fmt.Printf("%s %s %.1fs\n", r, p, pkgElapsed[p])
		if pkgResult[p] == "fail" {
			if b := out[p+" "]; b != nil {
				fmt.Print(indent(b.String()))
			}
		}
	}
	if len(skipReasons) > 0 {
		fmt.Println("\nskipped:")
		keys := make([]string, 0, len(skipReasons))
		for k := range skipReasons {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Printf("  %s: %s\n", k, skipReasons[k])
		}
	}
	for _, k := range failedTests {
		fmt.Printf("\n--- FAIL %s\n", k)
		if b := out[k]; b != nil {
			fmt.Print(indent(b.String()))
		}
	}
	fmt.Printf("\ngo test: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "---") {
			return l
		}
	}
	return ""
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("    " + l)
		}
	}
	return b.String()
}
