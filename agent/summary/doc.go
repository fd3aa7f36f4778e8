// Package summary parses and formats RFC 3842
// application/simple-message-summary bodies, the payload of a SIP
// message-summary NOTIFY.
//
// The parser is strict where it matters and tolerant where real servers are
// sloppy: header names are case-insensitive, whitespace is tolerated
// anywhere the grammar allows linear white space (and some places it does
// not), lines may end in CRLF or a bare LF, and a status line alone is a
// valid body. A garbage or negative count line is reported as a Warning and
// skipped without losing the status line; counts above 2^32-1 saturate;
// unknown message-context classes are kept. An empty body — Kamailio sends
// one when nothing has been published — yields WaitingNone ("no
// information"), never "no messages".
//
// Parse returns an error only when the body cannot be used at all (no
// valid Messages-Waiting line). The SIP side answers such a NOTIFY with 400
// and keeps the mailbox state it had.
//
// The package is pure: no I/O, no SIP stack types.
package summary
