package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestServerTimeouts(t *testing.T) {
	srv := newServer("127.0.0.1:0", http.NotFoundHandler())
	for name, d := range map[string]int64{
		"ReadHeaderTimeout": int64(srv.ReadHeaderTimeout),
		"ReadTimeout":       int64(srv.ReadTimeout),
		"WriteTimeout":      int64(srv.WriteTimeout),
		"IdleTimeout":       int64(srv.IdleTimeout),
	} {
		if d <= 0 {
			t.Errorf("%s is unset: a client that stalls holds its connection forever", name)
		}
	}
}

// TestServeAnswersRequestsInFlightBeforeReturning: run closes the Manager
// and the store when serve returns, so serve must not return while a
// request still uses them. http.Server.Serve returns as soon as Shutdown
// begins; serve waits for Shutdown.
func TestServeAnswersRequestsInFlightBeforeReturning(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	var answered atomic.Bool
	srv := newServer(ln.Addr().String(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		fmt.Fprint(w, "done")
		answered.Store(true)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, srv, ln) }()
	reply := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			reply <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		reply <- string(b)
	}()
	<-started
	cancel()
	// Once the listener is closed, Shutdown has begun and Serve has
	// returned: only the request in flight holds serve back.
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener is still open 5 seconds after the shutdown began")
		}
	}
	select {
	case err := <-served:
		t.Fatalf("serve returned (%v) with a request in flight: run would close the store under it", err)
	default:
	}
	close(release)
	if err := <-served; err != nil {
		t.Fatalf("serve: got %v, want nil after a clean shutdown", err)
	}
	if !answered.Load() {
		t.Fatal("serve returned before the request in flight was answered")
	}
	if got := <-reply; got != "done" {
		t.Fatalf("the request in flight got %q, want done", got)
	}
}
