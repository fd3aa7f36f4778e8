package sipua

import (
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// authState is the digest state of one request family (the registration,
// or one subscription): the last challenge and how often we used it.
type authState struct {
	header string // "Authorization" or "Proxy-Authorization"
	chal   *digest.Challenge
	nc     int
	cnonce string
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

// learn takes the best challenge from a 401/407 (servers may offer
// SHA-256 and MD5 in separate headers; sipgo only looks at the first).
func (a *authState) learn(res *sip.Response) error {
	name, out := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		name, out = "Proxy-Authenticate", "Proxy-Authorization"
	}
	var best *digest.Challenge
	for _, h := range res.GetHeaders(name) {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		c.Algorithm = strings.ToUpper(c.Algorithm)
		if !digest.CanDigest(c) || algorithmRank(c.Algorithm) == 0 {
			continue
		}
		if best == nil || algorithmRank(c.Algorithm) > algorithmRank(best.Algorithm) {
			best = c
		}
	}
	if best == nil {
		return fmt.Errorf("sipua: %d without a usable digest challenge", res.StatusCode)
	}
	a.header, a.chal, a.nc, a.cnonce = out, best, 0, ""
	return nil
}

// apply adds credentials for req, reusing the known challenge with the
// next nonce count (qop=auth). No challenge known: nothing added.
func (a *authState) apply(req *sip.Request, user, password string) error {
	req.RemoveHeader("Authorization")
	req.RemoveHeader("Proxy-Authorization")
	if a.chal == nil {
		return nil
	}
	a.nc++
	cred, err := digest.Digest(a.chal, digest.Options{
		Method:   string(req.Method),
		URI:      req.Recipient.Addr(),
		Username: user,
		Password: password,
		Count:    a.nc,
		Cnonce:   a.cnonce,
	})
	if err != nil {
		return fmt.Errorf("sipua: digest: %w", err)
	}
	a.cnonce = cred.Cnonce
	req.AppendHeader(sip.NewHeader(a.header, cred.String()))
	return nil
}

// seedFrom takes another request family's challenge when this one has none
// (a SUBSCRIBE reusing the registration's nonce saves a round trip per
// account). Servers challenge non-REGISTER requests as a proxy (407) as
// often as not; a wrong guess costs one challenge, as without seeding.
func (a *authState) seedFrom(o *authState, method string) {
	if a.chal != nil || o.chal == nil {
		return
	}
	a.chal, a.cnonce = o.chal, ""
	a.nc = o.nc + 1000 // stay clear of the other family's nonce counts
	a.header = o.header
	if method != "REGISTER" {
		a.header = "Proxy-Authorization"
	}
}
