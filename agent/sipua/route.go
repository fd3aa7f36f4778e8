package sipua

import (
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Routing (RFC 3261 sections 8.1.2, 12.2.1.1, 16.12).

// proxyRoute is the preloaded Route for the outbound proxy: <sip:proxy;lr>
// (with ;transport= for TCP and TLS), or nil without one.
func (a *account) proxyRoute() *sip.RouteHeader {
	if a.cfg.Proxy == "" {
		return nil
	}
	host, port := a.cfg.Proxy, 0
	if h, p, err := net.SplitHostPort(a.cfg.Proxy); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	}
	u := sip.Uri{Scheme: "sip", Host: strings.Trim(host, "[]"), Port: port, UriParams: sip.NewParams()}
	if a.network != "udp" {
		u.UriParams.Add("transport", a.network)
	}
	u.UriParams.Add("lr", "")
	return &sip.RouteHeader{Address: u}
}

// addRoutes puts the route headers on a request: the dialog's route set
// when it has one, else the preloaded outbound proxy route. A route set
// whose first entry is a strict router (no ;lr) gets the RFC 3261
// 12.2.1.1 treatment: that entry becomes the Request-URI and the remote
// target goes last.
func (a *account) addRoutes(req *sip.Request, routeSet []sip.Uri) {
	if len(routeSet) == 0 {
		if r := a.proxyRoute(); r != nil {
			req.AppendHeader(r)
		}
		return
	}
	if _, loose := routeSet[0].UriParams.Get("lr"); !loose {
		target := req.Recipient
		req.Recipient = routeSet[0]
		req.Recipient.UriParams = nil
		for _, r := range routeSet[1:] {
			req.AppendHeader(&sip.RouteHeader{Address: r})
		}
		req.AppendHeader(&sip.RouteHeader{Address: target})
		req.SetDestination(hostPortOf(routeSet[0]))
		return
	}
	for _, r := range routeSet {
		req.AppendHeader(&sip.RouteHeader{Address: r})
	}
}

func hostPortOf(u sip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
		if tp, _ := u.UriParams.Get("transport"); strings.EqualFold(tp, "tls") || u.Scheme == "sips" {
			port = 5061
		}
	}
	return net.JoinHostPort(strings.Trim(u.Host, "[]"), strconv.Itoa(port))
}
