// Package sipua is mwi-agent's SIP user agent on sipgo: per account, a
// registration and a message-summary subscription (RFC 3265/6665, RFC
// 3842), each a leg (leg.go) with a state machine written as a total
// table — NextReg(state, event) and NextSub(state, event) return the next
// state and the actions to take — driven by the account's worker: a
// mailbox of inputs served by a small shared pool of goroutines, one
// account on at most one goroutine at a time (worker.go). One governor (governor.go) bounds what any server behaviour can
// make an account send: a request budget per account, backoff with jitter,
// clamped Retry-After/Min-Expires/grants, per-server transaction slots and
// rate. health.go maps the legs' states to a health; request.go builds the
// requests.
//
// The worker owns every piece of SIP state (Call-IDs, CSeqs, the dialog,
// digest challenges and nonce counts, timers); sipgo's handlers only
// check a NOTIFY's identity, hand it over and answer what the worker says
// (2xx only once applied, else 500 + Retry-After: never 200 and lost).
//
// Trust (issue 11): a read filter in front of sipgo (gate.go) answers
// what the agent refuses statelessly — every refusal the same 481 — and
// numbers admitted NOTIFYs in arrival order, so floods of spoofed packets
// leave no state; a UDP NOTIFY's transaction ends with its answer and the
// gate answers its retransmissions from a compact record (absorb.go);
// in-dialog NOTIFYs must match Call-ID and both tags; unsolicited ones
// only over the account's own transport and flow. One
// prober per server (liveness.go) finds a server that stopped answering
// (UDP OPTIONS, TCP/TLS CRLF ping with pong timeout); the restart check
// refreshes each subscription often enough that a server which forgot it
// is noticed within a minute. Server names are resolved off the workers'
// goroutines (resolve.go). What sipgo v1.7.3 does not give and this
// package adds: REGISTER refresh, SUBSCRIBE dialogs (created by the 2xx or
// by a NOTIFY that overtakes it), in-dialog refresh, digest with nonce-count
// reuse per realm, stale nonces and SHA-256 chosen over MD5, 423/481/Retry-After
// handling, Timer N, lapse → stale, received/rport learning, CRLF
// keepalives, the compact "o:" Event header, and unsolicited NOTIFY routing
// by user with source-address checks.
//
// Results leave through Options.OnUpdate as Update values (health, last
// status, and mailbox information); package agent folds them into its
// snapshot. Nothing here touches hardware. See docs/sip.md.
package sipua
