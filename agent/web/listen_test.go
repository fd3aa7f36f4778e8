package web

import (
	"context"
	"net"
	"strings"
	"testing"
)

// A taken port is one error naming the address, the cause and what to do
// (a fresh install's 127.0.0.1:8080 may be in use on the machine).
func TestListenPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := &Server{}
	err = s.ListenAndServe(context.Background(), ln.Addr().String(), nil)
	if err == nil {
		t.Fatal("listening on a taken port succeeded")
	}
	for _, want := range []string{ln.Addr().String(), "taken by another program", "http.listen", "address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
}
