package sipua

import (
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// nonce is one server nonce and how often we used it: the nonce count
// starts at 1 for every new nonce and goes up by one per request that
// uses it, whichever request family sends it (both legs share it when the
// subscription reuses the registration's challenge).
type nonce struct {
	chal   *digest.Challenge
	nc     int
	cnonce string
}

// credential answers one realm's challenge in one header.
type credential struct {
	header string // "Authorization" or "Proxy-Authorization"
	realm  string
	n      *nonce
}

// authState is the digest state of one request family: one credential per
// (header, realm), so that a proxy's 407 and the registrar's 401 are both
// answered on the next request.
type authState struct {
	creds []credential
}

// algorithmRank orders the algorithms we can answer, best first.
func algorithmRank(alg string) int {
	switch strings.ToUpper(alg) {
	case "SHA-512-256":
		return 4
	case "SHA-256":
		return 3
	case "", "MD5":
		return 1
	}
	return 0
}

// learn takes the best challenge per realm from a 401/407 (servers may
// offer SHA-256 and MD5 in separate headers; sipgo only looks at the
// first). A new nonce starts counting at 1; the same nonce again keeps
// its count (a nonce count is never reused).
func (a *authState) learn(res *sip.Response) error {
	name, out := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		name, out = "Proxy-Authenticate", "Proxy-Authorization"
	}
	var best []*digest.Challenge
	for _, h := range res.GetHeaders(name) {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		c.Algorithm = strings.ToUpper(c.Algorithm)
		if !digest.CanDigest(c) || algorithmRank(c.Algorithm) == 0 {
			continue
		}
		found := false
		for i, b := range best {
			if b.Realm == c.Realm {
				found = true
				if algorithmRank(c.Algorithm) > algorithmRank(b.Algorithm) {
					best[i] = c
				}
			}
		}
		if !found {
			best = append(best, c)
		}
	}
	if len(best) == 0 {
		return fmt.Errorf("sipua: %d without a usable digest challenge", res.StatusCode)
	}
	for _, c := range best {
		a.set(out, c)
	}
	return nil
}

// set stores a challenge for (header, realm).
func (a *authState) set(header string, c *digest.Challenge) {
	for i := range a.creds {
		cr := &a.creds[i]
		if cr.header == header && cr.realm == c.Realm {
			if cr.n.chal.Nonce == c.Nonce {
				cr.n.chal = c // same nonce: keep counting
			} else {
				cr.n = &nonce{chal: c}
			}
			return
		}
	}
	a.creds = append(a.creds, credential{header: header, realm: c.Realm, n: &nonce{chal: c}})
}

func (a *authState) has(header, realm string) bool {
	for _, cr := range a.creds {
		if cr.header == header && cr.realm == realm {
			return true
		}
	}
	return false
}

// newRealm: the 401/407 challenges a (header, realm) we hold no
// credential for.
func (a *authState) newRealm(res *sip.Response) bool {
	name, out := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		name, out = "Proxy-Authenticate", "Proxy-Authorization"
	}
	for _, h := range res.GetHeaders(name) {
		if c, err := digest.ParseChallenge(h.Value()); err == nil && !a.has(out, c.Realm) {
			return true
		}
	}
	return false
}

// known reports whether any challenge is known.
func (a *authState) known() bool { return len(a.creds) > 0 }

// apply adds credentials for req, one header per known (header, realm),
// each with its nonce's next count (qop=auth). The digest uri is the
// Request-URI exactly as sent, parameters included. No challenge known:
// nothing added.
func (a *authState) apply(req *sip.Request, user, password string) error {
	req.RemoveHeader("Authorization")
	req.RemoveHeader("Proxy-Authorization")
	uri := req.Recipient.String()
	for _, cr := range a.creds {
		cr.n.nc++
		cred, err := digest.Digest(cr.n.chal, digest.Options{
			Method:   string(req.Method),
			URI:      uri,
			Username: user,
			Password: password,
			Count:    cr.n.nc,
			Cnonce:   cr.n.cnonce,
		})
		if err != nil {
			return fmt.Errorf("sipua: digest realm %q: %w", cr.realm, err)
		}
		cr.n.cnonce = cred.Cnonce
		req.AppendHeader(sip.NewHeader(cr.header, cred.String()))
	}
	return nil
}

// seedFrom takes another request family's challenges when this one has
// none (a SUBSCRIBE reusing the registration's nonce saves a round trip per
// account), sharing their nonce counts. Servers challenge non-REGISTER
// requests as a proxy (407) as often as not; a wrong guess costs one
// challenge, as without seeding.
func (a *authState) seedFrom(o *authState, method string) {
	if a.known() || !o.known() {
		return
	}
	for _, cr := range o.creds {
		if method != "REGISTER" {
			cr.header = "Proxy-Authorization"
		}
		if !a.has(cr.header, cr.realm) {
			a.creds = append(a.creds, cr)
		}
	}
}
