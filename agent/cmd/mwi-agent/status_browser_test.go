package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// TestStatusPageTokenAndRebindingInBrowser: "mwi-agent run" with
// http.token, in Debian's chromium. The page asks for the token in a form;
// after logging in it shows the live state with the token in no URL and no
// script-readable cookie. A name that resolves to 127.0.0.1 (as a
// DNS-rebinding attack arranges; here chromium's --host-resolver-rules)
// gets the refusal, not the state.
func TestStatusPageTokenAndRebindingInBrowser(t *testing.T) {
	paths := itest.Require(t, "chromium")
	const token = "correct-horse-battery"
	r := startRun(t, func(c *config.Config) { c.HTTP.Token = token })
	defer r.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bctx := newBrowser(t, ctx, paths[0], chromedp.Flag("host-resolver-rules", "MAP rebind.test 127.0.0.1"))
	_, port, _ := strings.Cut(r.rig.PageAddr.String(), ":")
	page := "http://127.0.0.1:" + port + "/"

	var s string
	js := func(expr string) string {
		t.Helper()
		if err := chromedp.Run(bctx, chromedp.Evaluate(expr, &s)); err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return s
	}
	if err := chromedp.Run(bctx, chromedp.Navigate(page), chromedp.WaitVisible(`input[name="token"]`, chromedp.ByQuery)); err != nil {
		t.Fatalf("login form on %s: %v", page, err)
	}
	if js(`String(document.getElementById("lamp") === null)`) != "true" {
		t.Fatal("the phone page is shown before logging in")
	}
	if err := chromedp.Run(bctx,
		chromedp.SendKeys(`input[name="token"]`, token, chromedp.ByQuery),
		chromedp.Submit(`input[name="token"]`, chromedp.ByQuery),
		chromedp.WaitReady(`#lamp`, chromedp.ByQuery)); err != nil {
		t.Fatalf("log in: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for js(`String(document.getElementById("conn").textContent === "live" && document.querySelectorAll("#accounts tr").length === 3)`) != "true" {
		if time.Now().After(deadline) {
			t.Fatalf("page not live with 3 accounts after logging in: conn %q", js(`document.getElementById("conn").textContent`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if u := js(`location.href`); strings.Contains(u, token) || u != page {
		t.Fatalf("page URL after login %q", u)
	}
	if c := js(`document.cookie`); c != "" {
		t.Fatalf("the session cookie is readable by scripts: %q", c)
	}
	// The rebinding name reaches the same socket but is refused.
	if err := chromedp.Run(bctx, chromedp.Navigate("http://rebind.test:"+port+"/api/state")); err != nil {
		t.Fatalf("navigate rebind.test: %v", err)
	}
	body := js(`document.body.innerText`)
	if !strings.Contains(body, "is not served here") || strings.Contains(body, "accounts") {
		t.Fatalf("rebind.test got %q", body)
	}
}
