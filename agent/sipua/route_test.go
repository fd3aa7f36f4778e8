package sipua

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// Route headers: the preloaded outbound proxy route (loose, ;lr), a
// loose route set as is, and a strict router (no ;lr) as the
// Request-URI with the remote target last (RFC 3261 12.2.1.1).
func TestAddRoutes(t *testing.T) {
	uri := func(s string) sip.Uri {
		var u sip.Uri
		if err := sip.ParseUri(s, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	routes := func(req *sip.Request) string {
		var out []string
		for _, h := range req.GetHeaders("Route") {
			out = append(out, h.Value())
		}
		return strings.Join(out, ", ")
	}
	for _, c := range []struct {
		name, proxy, network string
		set                  []string
		wantRURI, wantRoutes string
		wantDest             string
	}{
		{"preloaded proxy", "edge.example.com:5080", "udp", nil, "sip:1@pbx.example.com", "<sip:edge.example.com:5080;lr>", ""},
		{"preloaded proxy tcp", "[2001:db8::1]", "tcp", nil, "sip:1@pbx.example.com", "<sip:[2001:db8::1];transport=tcp;lr>", ""},
		{"no proxy", "", "udp", nil, "sip:1@pbx.example.com", "", ""},
		{"loose route set", "edge.example.com", "udp", []string{"sip:p1.example.com;lr", "sip:p2.example.com;lr"}, "sip:1@pbx.example.com", "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>", ""},
		{"strict router", "", "udp", []string{"sip:strict.example.com:5070", "sip:p2.example.com;lr"}, "sip:strict.example.com:5070", "<sip:p2.example.com;lr>, <sip:1@pbx.example.com>", "strict.example.com:5070"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &account{cfg: accountCfg{Proxy: c.proxy}, network: c.network}
			req := sip.NewRequest(sip.SUBSCRIBE, uri("sip:1@pbx.example.com"))
			var set []sip.Uri
			for _, s := range c.set {
				set = append(set, uri(s))
			}
			a.addRoutes(req, set)
			if got := req.Recipient.String(); got != c.wantRURI {
				t.Errorf("Request-URI %s, want %s", got, c.wantRURI)
			}
			if got := routes(req); got != c.wantRoutes {
				t.Errorf("Route %q, want %q", got, c.wantRoutes)
			}
			if c.wantDest != "" && req.Destination() != c.wantDest {
				t.Errorf("destination %s, want %s", req.Destination(), c.wantDest)
			}
		})
	}
}
