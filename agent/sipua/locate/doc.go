// Package locate finds where to send SIP requests for a server name, the
// RFC 3263 way: NAPTR (which transport, which SRV name) → SRV (priority,
// weight, port) → A/AAAA, giving an ordered list of targets to try, with
// the smallest TTL seen so the caller knows when to ask again.
//
// The standard library's resolver cannot ask for NAPTR records, so the
// queries are made here (wire.go): RFC 1035 messages with one question,
// the answer section's NAPTR (RFC 3403), SRV, A and AAAA records, names
// with compression pointers; UDP with a retry over TCP when the answer
// was truncated. github.com/miekg/dns did this until it was found to be
// 0.2 MB of the armv6 binary for four record types, and
// golang.org/x/net/dns/dnsmessage for a while after (a second copy of
// the package the standard library vendors); the tests use miekg/dns as
// an independent server and codec to check this code against.
//
// With no configured servers (config key dns.servers) NAPTR and SRV go to
// the servers in /etc/resolv.conf and host names are resolved by the
// system resolver (so /etc/hosts still applies); with servers, every
// query goes to them.
//
// Failover between the targets (on a timeout or a 503) is the caller's
// job: see agent/sipua and docs/sip.md "Server location and failover".
package locate
