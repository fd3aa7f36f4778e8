// Package web serves the phone page: the message lamp with its real
// cadence, the display as the device shows it, each account's state and
// health, a handset to lift (it plays stutter or normal dial tone), live
// updates by server-sent events, and — in the desktop demo only — controls
// for the demo voicemail server. Without the demo it is a real device's
// status page (bind it to localhost, or set a token).
//
// Endpoints: GET / (the page), GET /api/state (JSON), GET /api/events (SSE,
// one "state" event per change), GET /display.png, GET /tone/{dial,stutter}.wav,
// POST /api/hook {"off_hook":bool} (simulated hook only), and in the demo
// POST /api/demo/mailbox/{user}/{leave,leave-urgent,listen,delete} and
// POST /api/demo/server {"running":bool}. POSTs need Content-Type
// application/json (so a cross-site form cannot trigger them).
package web
