package sipua

import "github.com/emiago/sipgo/sip"

// sipgo v1.7.3 keeps a finished client transaction over UDP for Timer D
// (32 s, RFC 3261's value for INVITE) with its request and response; for
// non-INVITE requests RFC 3261 asks for Timer K (T4, 5 s), only to absorb
// response retransmissions. The agent sends no INVITE, and a response
// retransmitted after its transaction ended is dropped by sipgo ("unhandled
// response"): nothing here needs it absorbed. Ending the transaction at its
// final answer, as over TCP, spares a start-up of N accounts holding about
// four requests and responses per account for 32 s (1,000 accounts: about
// 3 MB less at the peak; docs/memory.md). Server transactions keep Timer J
// (a retransmitted NOTIFY is absorbed, not applied twice).
func init() { sip.Timer_D = 0 }
