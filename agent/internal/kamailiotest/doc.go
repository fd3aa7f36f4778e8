// Package kamailiotest starts a real Kamailio (registrar, digest auth,
// presence + presence_mwi, SQLite presentity) on a free loopback port for
// integration tests and benchmarks, with the configuration kept in
// agent/sipua/testdata/kamailio/kamailio.cfg. Test support only.
package kamailiotest
