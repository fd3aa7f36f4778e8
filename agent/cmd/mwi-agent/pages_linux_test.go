package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssFileKB is this process's resident file-backed memory (kB).
func rssFileKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// Dropping the executable's pages unmaps most of them, and the program
// goes on running (the pages come back from the page cache when used).
func TestDropExecPages(t *testing.T) {
	before := rssFileKB(t)
	dropExecPages()
	after := rssFileKB(t)
	t.Logf("RssFile %d kB -> %d kB", before, after)
	if after >= before || before-after < 512 {
		t.Errorf("RssFile %d kB -> %d kB, want at least 512 kB less", before, after)
	}
	var b strings.Builder // code and data used again
	for i := range 1000 {
		b.WriteString(strconv.Itoa(i))
	}
	if b.Len() != 2890 {
		t.Errorf("after the drop: %d bytes, want 2890", b.Len())
	}
}
