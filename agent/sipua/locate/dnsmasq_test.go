//go:build unix

package locate

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// Against a real DNS server (dnsmasq): NAPTR records (one with a regexp
// and a service we do not speak, which are skipped), SRV, A and AAAA; and
// a name with 60 addresses, whose answer does not fit 512 bytes of UDP:
// dnsmasq truncates it and the query is asked again over TCP.
func TestDnsmasq(t *testing.T) {
	itest.Require(t, "dnsmasq")
	records := []string{
		"--local-ttl=60",
		"--naptr-record=example.test,10,50,s,SIPS+D2T,,_sips._tcp.example.test",
		"--naptr-record=example.test,20,50,s,SIP+D2U,,_sip._udp.example.test",
		"--naptr-record=example.test,5,50,u,E2U+sip,!^.*$!sip:info@example.test!,",
		"--naptr-record=example.test,30,50,s,SIP+D2SCTP,,_sip._sctp.example.test",
		"--srv-host=_sips._tcp.example.test,sip1.example.test,5061,10,100",
		"--srv-host=_sip._udp.example.test,sip2.example.test,5080,20,100",
		"--srv-host=_sip._udp.example.test,sip1.example.test,5090,10,100",
		"--host-record=sip1.example.test,192.0.2.1,2001:db8::1",
		"--host-record=sip2.example.test,192.0.2.2",
	}
	for i := range 60 {
		records = append(records, fmt.Sprintf("--host-record=big.example.test,198.51.100.%d", i+1))
	}
	d := kamailiotest.StartDNS(t, records...)
	r, err := New(Config{Servers: []string{d.Addr}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res := locate(t, r, Query{Host: "example.test"})
	want := []string{
		"tls 192.0.2.1:5061 (sip1.example.test)", "tls [2001:db8::1]:5061 (sip1.example.test)",
		"udp 192.0.2.1:5090 (sip1.example.test)", "udp [2001:db8::1]:5090 (sip1.example.test)",
		"udp 192.0.2.2:5080 (sip2.example.test)",
	}
	if got := targets(res); !slices.Equal(got, want) {
		t.Errorf("targets\n got %q\nwant %q", got, want)
	}
	if res.TTL != time.Minute {
		t.Errorf("TTL %v", res.TTL)
	}
	big := locate(t, r, Query{Host: "big.example.test", Port: 5060, Transport: "tcp"})
	if len(big.Targets) != 60 {
		t.Errorf("big.example.test: %d targets, want 60: %v", len(big.Targets), targets(big))
	}
	for _, tg := range big.Targets {
		if !strings.HasPrefix(tg.Addr.String(), "198.51.100.") || tg.Addr.Port() != 5060 {
			t.Errorf("target %v", tg)
		}
	}
}
