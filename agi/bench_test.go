package agi

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// BenchmarkSession runs whole sessions over TCP loopback: a tiny fake
// Asterisk connects, sends the environment block, answers one SET VARIABLE,
// and waits for the server to close. Allocations count both sides.
func BenchmarkSession(b *testing.B) {
	srv := &Server{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handler: HandlerFunc(func(ctx context.Context, s *Session) error {
			return s.SetVariable(ctx, "BLACKLIST_STATUS", "ALLOWED")
		}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	addr := l.Addr().String()

	env := []byte(testEnv)
	want := []byte("SET VARIABLE BLACKLIST_STATUS ALLOWED\n")
	reply := []byte("200 result=1\n")
	r := bufio.NewReaderSize(nil, 512)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Write(env); err != nil {
			b.Fatal(err)
		}
		r.Reset(c)
		line, err := r.ReadSlice('\n')
		if err != nil || !bytes.Equal(line, want) {
			b.Fatalf("got %q, %v", line, err)
		}
		if _, err := c.Write(reply); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadByte(); err != io.EOF {
			b.Fatalf("server did not close: %v", err)
		}
		c.Close()
	}
}
