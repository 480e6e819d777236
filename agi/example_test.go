package agi_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/blacklist-agi/blacklist-agi/agi"
)

// A FastAGI server that answers AGI(agi://host:4573/blacklist?campaign=x,...)
// by setting a channel variable, and hangs up blocked calls.
func Example() {
	mux := agi.NewServeMux()
	mux.HandleFunc("blacklist", func(ctx context.Context, s *agi.Session) error {
		number := s.Env().Get("agi_extension")
		campaign := s.Request().Query.Get("campaign")
		blocked := number == "5511987654321" && campaign != "" // look the number up here
		if !blocked {
			return s.SetVariable(ctx, "BLACKLIST_STATUS", "ALLOWED")
		}
		if err := s.SetVariable(ctx, "BLACKLIST_STATUS", "BLOCKED"); err != nil {
			return err
		}
		return s.Hangup(ctx)
	})
	srv := &agi.Server{
		Handler:        mux,
		CommandTimeout: 2 * time.Second,
		SessionTimeout: 10 * time.Second,
	}
	go func() {
		if err := srv.ListenAndServe(":4573"); !errors.Is(err, agi.ErrServerClosed) {
			log.Fatal(err)
		}
	}()
	// ... on SIGTERM:
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}
