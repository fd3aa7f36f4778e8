package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// newBrowser starts headless chromium (a fresh profile, removed after the
// browser exits) with extra command-line flags; it stops with ctx.
func newBrowser(t *testing.T, ctx context.Context, path string, flags ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	// Not t.TempDir: chromium's helpers may still write to it while the
	// test cleans up.
	profile, err := os.MkdirTemp("", "mwi-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1320, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, append(opts, flags...)...)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf), chromedp.WithErrorf(func(f string, a ...any) {
		// cdproto of chromedp v0.11.2 predates some enum values of current
		// chromium (e.g. IPAddressSpace "Loopback"); those events are not used.
		if msg := fmt.Sprintf(f, a...); !strings.Contains(msg, "could not unmarshal event") {
			t.Logf("chromedp: %s", msg)
		}
	}))
	t.Cleanup(func() { bcancel(); acancel() })
	return bctx
}

// TestDemoInBrowser drives Debian's chromium headless against the real
// demo: the page, the demo voicemail server, the agent and the sim board.
// It saves a screenshot to out/demo-browser.png (and docs/demo.png when
// MWI_UPDATE_SCREENSHOT=1).
func TestDemoInBrowser(t *testing.T) {
	paths := itest.Require(t, "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The demo server grants 5 s subscriptions here (30 s in the demo) so
	// the "cannot know" state shows quickly after it is stopped.
	rig, err := startDemo(ctx, "127.0.0.1:0", nil, demo.Options{MaxExpires: 5 * time.Second, MinExpires: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-rig.done }()

	bctx := newBrowser(t, ctx, paths[0])

	leave := `button[data-user="1001"][data-action="leave"]`
	listen := `button[data-user="1001"][data-action="listen"]`
	if err := chromedp.Run(bctx, chromedp.Navigate(rig.URL), chromedp.WaitVisible(leave, chromedp.ByQuery)); err != nil {
		t.Fatalf("open %s: %v", rig.URL, err)
	}
	js := func(expr string) string {
		t.Helper()
		var s string
		if err := chromedp.Run(bctx, chromedp.Evaluate(expr, &s)); err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return s
	}
	// waitFor polls the page until expr is "true" or the time is up; it
	// returns how long it took.
	waitFor := func(what, expr string, limit time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < limit {
			if js(expr) == "true" {
				return time.Since(start)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s: not within %v (lamp %s/%s)", what, limit, js(`document.getElementById("lamp").dataset.pattern`), js(`document.getElementById("lamp").dataset.lit`))
		return 0
	}
	lampLit := `String(document.getElementById("lamp").dataset.lit === "1")`
	waitFor("page shows the lamp off with the agent ready", `String(document.getElementById("lamp").dataset.pattern === "off" && document.getElementById("lamp").dataset.lit === "0")`, 15*time.Second)
	displayBefore := js(`document.getElementById("display").getAttribute("src") || ""`)
	pngBefore := fetch(t, rig.URL+"display.png")

	if err := chromedp.Run(bctx, chromedp.Click(leave, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	took := waitFor("lamp lights after leaving a voicemail", lampLit, 2*time.Second)
	t.Logf("lamp lit %v after the click", took)
	waitFor("display image changes", `String((document.getElementById("display").getAttribute("src")||"") !== `+quote(displayBefore)+` && document.getElementById("display").complete)`, 2*time.Second)
	if bytes.Equal(pngBefore, fetch(t, rig.URL+"display.png")) {
		t.Fatal("display.png did not change after a voicemail was left")
	}

	if err := chromedp.Run(bctx, chromedp.Click(listen, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	took = waitFor("lamp goes off after listening", `String(document.getElementById("lamp").dataset.lit === "0" && document.getElementById("lamp").dataset.pattern === "off")`, 2*time.Second)
	t.Logf("lamp off %v after listen", took)

	// With a message waiting, lifting the handset requests stutter tone.
	if err := chromedp.Run(bctx, chromedp.Click(leave, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitFor("lamp lights again", lampLit, 2*time.Second)
	if err := chromedp.Run(bctx, chromedp.Click("#handset", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitFor("page shows off-hook with stutter tone", `String(document.getElementById("hookstate").textContent === "off-hook" && document.getElementById("tone").dataset.tone === "stutter")`, 2*time.Second)
	deadline := time.Now().Add(3 * time.Second)
	for rig.Web.ToneRequests("stutter") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := rig.Web.ToneRequests("stutter"); n == 0 {
		t.Fatal("the browser never requested the stutter tone")
	}
	if off, _ := rig.Board.Hook.OffHook(); !off {
		t.Fatal("sim hook switch not off-hook after lifting the handset on the page")
	}
	// Hang up; the picture shows the steady lamp for mailbox 1001.
	if err := chromedp.Run(bctx, chromedp.Click("#handset", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitFor("on-hook again", `String(document.getElementById("hookstate").textContent === "on-hook")`, 2*time.Second)
	waitFor("lamp lit in the screenshot", lampLit, 2*time.Second)
	var shot []byte
	if err := chromedp.Run(bctx, chromedp.FullScreenshot(&shot, 100)); err != nil { // 100 = PNG
		t.Fatal(err)
	}
	// An urgent message in another mailbox switches the lamp to the fast
	// cadence.
	if err := chromedp.Run(bctx, chromedp.Click(`button[data-user="1002"][data-action="leave-urgent"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitFor("urgent pattern", `String(document.getElementById("lamp").dataset.pattern === "urgent")`, 2*time.Second)

	// Stop the demo server: once the subscriptions lapse the lamp shows
	// the slow "cannot know" flash, and the accounts say stale.
	if err := chromedp.Run(bctx, chromedp.Click("#srvbtn", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitFor("server shown stopped", `String(document.getElementById("srvstate").textContent === "stopped")`, 2*time.Second)
	took = waitFor("lamp shows cannot-know", `String(document.getElementById("lamp").dataset.pattern === "unknown")`, 30*time.Second)
	t.Logf("cannot-know shown %v after stopping the server (granted expiry 5 s)", took.Round(100*time.Millisecond))
	waitFor("accounts stale on the page", `String(document.querySelector('tr[data-account="desk-1001"] td:nth-child(2)').textContent.startsWith("?"))`, 2*time.Second)
	waitFor("lamp lit in the picture", lampLit, 3*time.Second)
	var shotUnknown []byte
	if err := chromedp.Run(bctx, chromedp.FullScreenshot(&shotUnknown, 100)); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..", "..")
	save(t, filepath.Join(root, "out", "demo-browser.png"), shot)
	save(t, filepath.Join(root, "out", "demo-browser-unknown.png"), shotUnknown)
	if os.Getenv("MWI_UPDATE_SCREENSHOT") == "1" {
		save(t, filepath.Join(root, "docs", "demo.png"), shot)
		save(t, filepath.Join(root, "docs", "demo-unknown.png"), shotUnknown)
	}
}

func quote(s string) string {
	b := []byte{'"'}
	for _, c := range []byte(s) {
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return string(append(b, '"'))
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return b
}

func save(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
