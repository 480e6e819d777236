package agitest_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
)

// serveOnce runs a toy FastAGI server for one connection: it reads the
// environment block, marks the call allowed and closes.
func serveOnce(ln net.Listener) {
	conn, err := ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil || line == "\n" {
			break
		}
	}
	fmt.Fprint(conn, "SET VARIABLE BLACKLIST_STATUS ALLOWED\n")
	r.ReadString('\n')
}

func ExampleRun() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go serveOnce(ln)

	res, err := agitest.Run(context.Background(), agitest.Call{
		URL:  "agi://" + ln.Addr().String() + "/blacklist?campaign=promo",
		Args: []string{"arg1"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.AGIStatus, res.Vars["BLACKLIST_STATUS"], res.HangupCause)
	fmt.Println(strings.Join(res.Replies, " | "))
	// Output:
	// SUCCESS ALLOWED 16
	// 200 result=1 | HANGUP
}

// BenchmarkRunConn measures one emulated session over net.Pipe against a
// server that answers with one command.
func BenchmarkRunConn(b *testing.B) {
	call := agitest.Call{URL: "agi://127.0.0.1/blacklist"}
	for b.Loop() {
		server, client := net.Pipe()
		go func() {
			defer server.Close()
			r := bufio.NewReader(server)
			for {
				line, err := r.ReadString('\n')
				if err != nil || line == "\n" {
					break
				}
			}
			fmt.Fprint(server, "SET VARIABLE BLACKLIST_STATUS ALLOWED\n")
			r.ReadString('\n')
		}()
		res, err := agitest.RunConn(context.Background(), client, call)
		if err != nil || res.Vars["BLACKLIST_STATUS"] != "ALLOWED" {
			b.Fatalf("RunConn: %+v, %v", res, err)
		}
	}
}
