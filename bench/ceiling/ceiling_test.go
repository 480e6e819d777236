package ceiling_test

import (
	"context"
	"net"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
	"github.com/blacklist-agi/blacklist-agi/bench/ceiling"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// TestVerdicts places calls on each server and check and sees the verdict
// the list's contents call for: a yardstick that answers wrong measures
// nothing.
func TestVerdicts(t *testing.T) {
	rdb := redistest.Client(t)
	keys := blacklist.Keys{Prefix: redistest.Prefix(t, rdb)}
	ctx := context.Background()
	list := keys.Shared("spam")
	if err := rdb.SAdd(ctx, list, "5511987650001", "5521*").Err(); err != nil {
		t.Fatal(err)
	}
	checks := map[string]func(rdb *redis.Client) ceiling.Check{
		"smismember": func(rdb *redis.Client) ceiling.Check { return ceiling.SMIsMember(rdb, list) },
		"pipeline": func(rdb *redis.Client) ceiling.Check {
			return ceiling.Pipeline(rdb, []string{keys.Campaign("promo"), list})
		},
	}
	servers := map[string]func(net.Listener, ceiling.Check) func(){"agi": ceiling.ServeAGI, "raw": ceiling.ServeRaw}
	for checkName, check := range checks {
		for serverName, serve := range servers {
			t.Run(checkName+"/"+serverName, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer serve(ln, check(rdb))()
				for number, want := range map[string]string{
					"5511987650001": "BLOCKED", // the entry
					"5521912345678": "BLOCKED", // under the prefix entry
					"5511987650002": "ALLOWED",
				} {
					res, err := agitest.Run(ctx, agitest.Call{URL: "agi://" + ln.Addr().String() + "/x", Extension: number})
					if err != nil {
						t.Fatalf("%s: %v", number, err)
					}
					if got := res.Vars["BLACKLIST_STATUS"]; got != want || !res.ServerClosed {
						t.Errorf("%s: BLACKLIST_STATUS %q (server closed %v), want %q", number, got, res.ServerClosed, want)
					}
				}
			})
		}
	}
}

func TestEntries(t *testing.T) {
	got := ceiling.Entries("5511")
	want := []string{"5511", "5511*", "551*", "55*", "5*"}
	if !slices.Equal(got, want) {
		t.Errorf("Entries(5511) = %q, want %q", got, want)
	}
}
