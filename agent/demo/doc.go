// Package demo is the embedded demo voicemail server the desktop demo runs
// on loopback: a small standards-following SIP registrar (digest auth,
// RFC 3261) and message-summary notifier (RFC 6665 + RFC 3842) built on
// sipgo, with demo mailboxes and controls to leave a voicemail (normal or
// urgent), listen (mark read), delete, and stop or start the whole server so
// the agent's "cannot know" state can be seen.
//
// The server accepts SUBSCRIBE for Event: message-summary, answers 200 with
// the granted Expires and sends a NOTIFY at once; it sends a NOTIFY to every
// subscription of a mailbox whenever that mailbox changes, honours Expires
// (refresh, expiry with a terminated;reason=timeout NOTIFY, Expires: 0 to
// un-subscribe) and drops a subscription whose NOTIFY gets 481 or no answer.
// Stop closes the socket and forgets every registration and subscription
// without a word, as a crashed server would.
package demo
