//go:build unix

package kamailiotest

import (
	"context"
	"net"
	"testing"

	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// dnsmasq serves the SRV and host records it was given.
func TestStartDNS(t *testing.T) {
	itest.Require(t, "dnsmasq")
	d := StartDNS(t, "--srv-host=_sip._udp.mwi.test,sip1.mwi.test,5070,10,100", "--host-record=sip1.mwi.test,127.0.0.1")
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "udp", d.Addr)
	}}
	_, srvs, err := r.LookupSRV(context.Background(), "sip", "udp", "mwi.test")
	if err != nil || len(srvs) != 1 || srvs[0].Port != 5070 || srvs[0].Target != "sip1.mwi.test." {
		t.Fatalf("SRV: %v %+v\n%s", err, srvs, d.Log())
	}
	ips, err := r.LookupHost(context.Background(), "sip1.mwi.test")
	if err != nil || len(ips) != 1 || ips[0] != "127.0.0.1" {
		t.Fatalf("A: %v %v", err, ips)
	}
}
