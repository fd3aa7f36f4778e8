package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func main() {
	server := flag.String("server", "", "registrar host:port (UDP)")
	n := flag.Int("n", 8, "accounts")
	base := flag.Int("base", 100000, "first user is base+1")
	flag.Parse()
	if err := run(*server, *n, *base); err != nil {
		log.Fatal("loadfloor: ", err)
	}
}

func run(server string, n, base int) error {
	host, portS, err := net.SplitHostPort(server)
	if err != nil {
		return fmt.Errorf("-server %q: %w", server, err)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return fmt.Errorf("-server %q: %w", server, err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	local := pc.LocalAddr().(*net.UDPAddr)
	ua, err := sipgo.NewUA()
	if err != nil {
		return err
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return err
	}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	go func() { _ = srv.ServeUDP(pc) }()
	// sipgo adds the listener to its pool on the serving goroutine; a
	// request sent before that would bind a second socket and fail.
	for i := 0; i < 200; i++ {
		if conn, err := ua.TransportLayer().GetConnection("udp", local.String()); err == nil && conn != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(local.String()))
	if err != nil {
		return err
	}

	t0 := time.Now()
	var wg sync.WaitGroup
	slots := make(chan struct{}, 32)
	errs := make(chan error, n)
	for i := 1; i <= n; i++ {
		wg.Add(1)
		slots <- struct{}{}
		go func(user string) {
			defer wg.Done()
			defer func() { <-slots }()
			for _, m := range []sip.RequestMethod{sip.REGISTER, sip.SUBSCRIBE} {
				if err := ask(c, m, user, host, port, local); err != nil {
					errs <- fmt.Errorf("%s %s: %w", m, user, err)
					return
				}
			}
		}(strconv.Itoa(base + i))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	fmt.Fprintf(os.Stderr, "all accounts subscribed n=%d after=%s\n", n, time.Since(t0))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	return nil
}

// ask sends one REGISTER or SUBSCRIBE for user and answers its digest
// challenge.
func ask(c *sipgo.Client, m sip.RequestMethod, user, host string, port int, local *net.UDPAddr) error {
	aor := sip.Uri{Scheme: "sip", User: user, Host: host}
	target := sip.Uri{Scheme: "sip", Host: host, Port: port}
	if m == sip.SUBSCRIBE {
		target.User = user
	}
	req := sip.NewRequest(m, target)
	from := sip.NewParams()
	from.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(&sip.FromHeader{Address: aor, Params: from})
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: local.IP.String(), Port: local.Port}})
	req.AppendHeader(sip.NewHeader("Expires", "3600"))
	if m == sip.SUBSCRIBE {
		req.AppendHeader(sip.NewHeader("Event", "message-summary"))
		req.AppendHeader(sip.NewHeader("Accept", "application/simple-message-summary"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err != nil {
		return err
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: "pw-" + user})
		if err != nil {
			return err
		}
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("answered %d %s", res.StatusCode, res.Reason)
	}
	return nil
}
