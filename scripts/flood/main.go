// flood sends spoofed SIP traffic at an agent's UDP listener for
// scripts/flood.sh: by default 1,000 datagrams a second for 60 s, each
// from a fresh socket on a random loopback address and port, in a fixed
// mix — unsolicited NOTIFYs for the real user (from the wrong source),
// NOTIFYs for random users, in-dialog NOTIFYs with made-up Call-IDs and
// tags, 30 KB garbage, stray responses and other methods. It only sends
// (never reads) and prints what it sent.
//
//	go run ./scripts/flood -to 127.0.0.1:5070 -user 10001 -rate 1000 -for 60s

package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	to := flag.String("to", "", "the agent's UDP listener, host:port")
	user := flag.String("user", "", "a real account's user (its unsolicited NOTIFYs come from the wrong source)")
	rate := flag.Int("rate", 1000, "datagrams per second")
	dur := flag.Duration("for", 60*time.Second, "how long")
	flag.Parse()
	if *to == "" || *user == "" || *rate <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	dst, err := net.ResolveUDPAddr("udp", *to)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
	garbage := make([]byte, 30000)
	_, _ = rand.Read(garbage)
	kinds := []string{"notify-real-user", "notify-random-user", "notify-in-dialog", "garbage-30KB", "stray-response", "invite"}
	sent := make([]int, len(kinds))
	var errs int
	start := time.Now()
	n := 0
	for time.Since(start) < *dur {
		due := int(time.Since(start).Seconds() * float64(*rate))
		if n >= due {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		k := n % len(kinds)
		src := &net.UDPAddr{IP: net.IPv4(127, byte(rnd(256)), byte(rnd(256)), byte(1+rnd(254)))}
		if n%2 == 0 {
			src.IP = net.IPv4(127, 0, 0, 1)
		}
		c, err := net.ListenUDP("udp", src)
		if err != nil {
			errs++
			n++
			continue
		}
		var data []byte
		switch kinds[k] {
		case "notify-real-user":
			data = notify(c.LocalAddr().String(), *to, *user, "", "")
		case "notify-random-user":
			data = notify(c.LocalAddr().String(), *to, "u"+hexs(4), "", "")
		case "notify-in-dialog":
			data = notify(c.LocalAddr().String(), *to, *user, hexs(8), hexs(8))
		case "garbage-30KB":
			data = garbage
		case "stray-response":
			data = []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK" + hexs(8) + "\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: " + hexs(8) + "\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n")
		case "invite":
			data = []byte(strings.Replace(string(notify(c.LocalAddr().String(), *to, *user, "", "")), "NOTIFY", "INVITE", 2))
		}
		if _, err := c.WriteToUDP(data, dst); err != nil {
			errs++
		} else {
			sent[k]++
		}
		c.Close()
		n++
	}
	el := time.Since(start)
	total := 0
	for i, k := range kinds {
		fmt.Printf("flood: %-20s %d\n", k, sent[i])
		total += sent[i]
	}
	fmt.Printf("flood: sent %d datagrams in %.1f s (%.0f/s), %d send errors\n", total, el.Seconds(), float64(total)/el.Seconds(), errs)
}

func notify(from, to, user, callID, toTag string) []byte {
	if callID == "" {
		callID = hexs(8)
	}
	toHdr := "<sip:" + user + "@127.0.0.1>"
	if toTag != "" {
		toHdr += ";tag=" + toTag
	}
	body := "Messages-Waiting: no\r\nVoice-Message: 0/0\r\n"
	return []byte("NOTIFY sip:" + user + "@" + to + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + from + ";branch=z9hG4bK" + hexs(8) + ";rport\r\n" +
		"From: <sip:voicemail@127.0.0.1>;tag=" + hexs(4) + "\r\n" +
		"To: " + toHdr + "\r\nCall-ID: " + callID + "\r\nCSeq: " + fmt.Sprint(1+rnd(1<<30)) + " NOTIFY\r\n" +
		"Max-Forwards: 70\r\nEvent: message-summary\r\nSubscription-State: active\r\n" +
		"Content-Type: application/simple-message-summary\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body)
}

func hexs(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func rnd(n int) int {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return int(uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24) % n
}
