// Package metrics serves /metrics in the Prometheus text format: per
// account health, waiting, counts and last change time (read from the
// agent's snapshot at scrape time), and counters of what the SIP user agent
// did: requests by method and answer class, NOTIFYs by outcome, backoffs and
// in-flight-limit waits (it is the UA's sipua.Observer).
//
// The library is github.com/VictoriaMetrics/metrics v1.45.0, chosen over
// github.com/prometheus/client_golang v1.25.0 by measured cost (docs/metrics.md):
// about 0.15 MB of executable against 3.2 MB, and 6.3 MB against 9.0 MB
// resident in the same 256-account test program. Its HELP lines are empty,
// which `promtool check metrics` refuses, so this package writes each
// family's HELP and TYPE itself.
package metrics
