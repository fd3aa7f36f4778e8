package summary

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden from the parser's output")

// dump renders a Parse result as stable text for the golden files.
func dump(s Summary, warns []Warning, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
	} else {
		fmt.Fprintf(&b, "waiting: %s\n", s.Waiting)
		if s.Account != "" {
			fmt.Fprintf(&b, "account: %s\n", s.Account)
		}
		if s.Classes == nil {
			fmt.Fprintf(&b, "classes: nil\n")
		}
		keys := make([]string, 0, len(s.Classes))
		for k := range s.Classes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c := s.Classes[k]
			fmt.Fprintf(&b, "class %s: new=%d old=%d urgent_new=%d urgent_old=%d\n", k, c.New, c.Old, c.UrgentNew, c.UrgentOld)
		}
		for _, h := range s.Headers {
			fmt.Fprintf(&b, "header[%d] %q: %q\n", h.Block, h.Name, h.Value)
		}
	}
	for _, w := range warns {
		fmt.Fprintf(&b, "warning %s\n", w)
	}
	return b.String()
}

// TestGolden parses bodies as real servers send them (testdata/golden/*.txt)
// and compares with the reviewed expectations in *.golden. It also checks
// that every usable body survives Format and Parse again unchanged.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden bodies: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, warns, perr := Parse(body)
			got := dump(s, warns, perr)
			gf := strings.TrimSuffix(f, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(gf, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("Parse(%s):\ngot:\n%s\nwant:\n%s", f, got, want)
			}
			if perr != nil {
				return
			}
			out := Format(s)
			s2, w2, err := Parse(out)
			if err != nil || len(w2) != 0 {
				t.Fatalf("Parse(Format(...)) = %v, warnings %v; body:\n%s", err, w2, out)
			}
			if d := dump(s2, nil, nil); d != dump(s, nil, nil) {
				t.Errorf("round trip changed the summary:\n%s\nvs\n%s", d, dump(s, nil, nil))
			}
			if len(body) > 0 && len(bytes.TrimSpace(body)) == 0 && len(out) != 0 {
				t.Errorf("white-space body formats as %q, want empty", out)
			}
		})
	}
}
