// Package metrics serves /metrics in the Prometheus text format (0.0.4):
// per account health, waiting, counts and last change time (read from the
// agent's snapshot at scrape time), and counters of what the SIP user agent
// did: requests by method and answer class, NOTIFYs by outcome, backoffs and
// in-flight-limit waits (it is the UA's sipua.Observer).
//
// The exposition is written here, a dozen families of gauges and counters
// (atomic adds, no allocation on the SIP path). It used
// github.com/VictoriaMetrics/metrics v1.45.0 (chosen over
// prometheus/client_golang by measured cost, docs/metrics.md) until that
// library's init, which compiles a regexp, was found to be what linked
// regexp and the Unicode tables into the binary (docs/memory.md "The
// binary"). `promtool check metrics` (Prometheus' own parser and linter)
// checks the output in the tests, and a real Prometheus scrapes it in the
// agent's integration test.
package metrics
