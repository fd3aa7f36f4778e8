// Package web serves the phone page: the message lamp with its real
// cadence, the display as the device shows it, each account's state and
// health, a handset to lift (it plays stutter or normal dial tone), live
// updates by server-sent events, and — in the desktop demo only — controls
// for the demo voicemail server.
//
// The page shows what the indicators applied (Options.Applied, the
// indicate.Applier): it never recomputes the outputs. A device it can
// move (the simulator) and the demo controls come in as the optional
// Device and Demo interfaces; the package imports neither the demo server
// nor the simulator (scripts/itest/deps_test.go).
//
// Endpoints: GET / (the page), GET /api/state (JSON), GET /api/events (SSE,
// one "state" event per change), GET /display.png, GET /tone/{dial,stutter}.wav,
// POST /api/hook {"off_hook":bool} (a movable hook only), POST /login (the
// token, as a form), and in the demo
// POST /api/demo/mailbox/{user}/{leave,leave-urgent,listen,delete} and
// POST /api/demo/server {"running":bool}.
//
// Hardening: only loopback names (localhost), IP addresses and the names in
// Options.Hosts are served (421 otherwise: a DNS-rebinding page cannot read
// the state); a request whose Origin is not the page's own, or a
// browser's cross-site subresource request, is refused (403); POSTs need
// Content-Type application/json (so a cross-site form cannot trigger
// them). With a token, everything but the page shell needs the session
// cookie POST /login sets (HttpOnly, SameSite=Strict, an HMAC of the token)
// or "Authorization: Bearer TOKEN"; the token is never taken from a URL.
package web
