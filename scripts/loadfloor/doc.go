// Command loadfloor is the floor scripts/load-kamailio.sh measures the
// agent against: the least a Go program on the project's SIP stack
// (github.com/emiago/sipgo) does to get N message-waiting subscriptions —
// REGISTER and SUBSCRIBE with digest authentication, 32 at a time, and a
// 200 to every NOTIFY — with nothing else: no configuration file, no
// state, no refreshes, no recovery, no indicators, no status page. What it
// costs in memory is what any Go agent on sipgo costs before it does
// anything of its own.
//
//	loadfloor -server 127.0.0.1:5060 -n 256 -base 100000
//
// registers and subscribes users base+1 … base+n (password pw-USER), logs
// "all accounts subscribed" and waits for SIGTERM; it then exits at once
// (no un-SUBSCRIBE).
package main
