// Command ceiling-server serves package ceiling's minimal FastAGI handler on
// a TCP address, for agi-loadtest to drive at the same concurrency as the
// product (docs/benchmarks.md, "The ceiling under load"). It is benchmark
// code, not part of the product.
//
//	ceiling-server -listen 127.0.0.1:4574 -redis 127.0.0.1:6379 \
//	  -check pipeline -keys 'blacklist:campaign:{promo},blacklist:list:{spam},blacklist:list:{no-answer}'
//
// -check smismember sends one SMISMEMBER to the first key; -check pipeline
// sends the product's pipeline (SMISMEMBER, ZMSCORE, HMGET) for every key.
// -server raw serves with a hand-written responder instead of package agi's
// Server. It stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/bench/ceiling"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:4574", "address to serve FastAGI on")
	addr := flag.String("redis", "127.0.0.1:6379", "Redis address")
	keys := flag.String("keys", "", "comma-separated list (SET) keys to check (required)")
	check := flag.String("check", "smismember", "smismember (one SMISMEMBER to the first key) or pipeline (the product's pipeline for every key)")
	server := flag.String("server", "agi", "agi (package agi's Server) or raw (a hand-written responder)")
	flag.Parse()
	if *keys == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*listen, *addr, strings.Split(*keys, ","), *check, *server); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling-server:", err)
		os.Exit(1)
	}
}

func run(listen, addr string, keys []string, checkName, serverName string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis %s: %w", addr, err)
	}
	var check ceiling.Check
	switch checkName {
	case "smismember":
		check = ceiling.SMIsMember(rdb, keys[0])
	case "pipeline":
		check = ceiling.Pipeline(rdb, keys)
	default:
		return fmt.Errorf("-check %q: want smismember or pipeline", checkName)
	}
	serve := ceiling.ServeAGI
	switch serverName {
	case "agi":
	case "raw":
		serve = ceiling.ServeRaw
	default:
		return fmt.Errorf("-server %q: want agi or raw", serverName)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ceiling-server: %s check, %s server, listening on %s\n", checkName, serverName, ln.Addr())
	defer serve(ln, check)()
	<-ctx.Done()
	return nil
}
