package blacklist

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestSweep sweeps a list step by step as the clock passes two expiries:
// nothing before its time, at most batch per step, everything that goes
// with an entry.
func TestSweep(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	list := SharedList(f.keys, "no-answer")
	exp1, exp2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	first, second, permanent := numbers("5511", 10), numbers("5521", 5), numbers("5531", 3)
	for _, a := range []struct {
		entries []string
		exp     time.Time
	}{{first, exp1}, {second, exp2}, {permanent, time.Time{}}} {
		if _, err := f.store.Add(ctx, list, a.entries, AddOptions{Meta: Meta{Reason: ReasonNoAnswer, ExpiresAt: a.exp}}); err != nil {
			t.Fatal(err)
		}
	}

	steps := []struct {
		at      time.Time
		batch   int64
		removed int64
		left    int64 // in the set
	}{
		{exp1.Add(-time.Nanosecond), 4, 0, 18},
		{exp1, 4, 4, 14},
		{exp1, 4, 4, 10},
		{exp1, 4, 2, 8},
		{exp1, 4, 0, 8},
		{exp2.Add(time.Hour), 0, 5, 3},
		{exp2.Add(time.Hour), 0, 0, 3},
	}
	for i, step := range steps {
		f.clock.Set(step.at)
		n, err := f.store.Sweep(ctx, list, step.batch)
		if err != nil || n != step.removed {
			t.Fatalf("step %d: Sweep = %d, %v; want %d", i, n, err, step.removed)
		}
		if left := f.rdb.SCard(ctx, list.Key).Val(); left != step.left {
			t.Errorf("step %d: %d entries left, want %d", i, left, step.left)
		}
	}
	members := f.rdb.SMembers(ctx, list.Key).Val()
	slices.Sort(members)
	if !slices.Equal(members, permanent) {
		t.Errorf("left %q, want the permanent entries %q", members, permanent)
	}
	if n := f.rdb.HLen(ctx, MetaKey(list.Key)).Val(); n != 3 {
		t.Errorf("the metadata hash holds %d entries, want 3", n)
	}
	if n := f.rdb.Exists(ctx, ExpiryKey(list.Key)).Val(); n != 0 {
		t.Errorf("the expiry index still exists")
	}
	recs, err := f.store.Audit(ctx, list, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	expired := 0
	for _, r := range recs {
		if r.Op == "expire" {
			expired++
		}
	}
	if expired != 15 {
		t.Errorf("%d expire records, want 15", expired)
	}
	if n, err := f.store.Sweep(ctx, SharedListLayout(f.keys, "nmp", LayoutCompact), 0); n != 0 || err != nil {
		t.Errorf("Sweep of a compact list = %d, %v", n, err)
	}
}

// TestSweepConcurrentReAdd sweeps expired entries while they are added
// again with a new expiry: every entry added again must survive with its
// new expiry, whatever the interleaving.
func TestSweepConcurrentReAdd(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	list := SharedList(f.keys, "opt-out")
	exp := t0.Add(time.Hour)
	entries := numbers("5511", 300)
	if _, err := f.store.Add(ctx, list, entries, AddOptions{Meta: Meta{ExpiresAt: exp}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(exp.Add(time.Second))
	later := exp.Add(24 * time.Hour)

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		for {
			n, err := f.store.Sweep(ctx, list, 7)
			if err != nil {
				errs <- err
				return
			}
			if n == 0 {
				errs <- nil
				return
			}
		}
	})
	wg.Go(func() {
		for _, e := range entries {
			if _, err := f.store.Add(ctx, list, []string{e}, AddOptions{Meta: Meta{ExpiresAt: later}}); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A final sweep finds nothing due: every entry expires later.
	if n, err := f.store.Sweep(ctx, list, 0); err != nil || n != 0 {
		t.Fatalf("final Sweep = %d, %v; want 0", n, err)
	}
	for _, e := range entries {
		got, err := f.store.Lookup(ctx, list, e)
		if err != nil || !got.Present || got.Expired || !got.Meta.ExpiresAt.Equal(later) {
			t.Fatalf("%s after the race = %+v, %v; want present until %v", e, got, err, later)
		}
	}
	if n := f.rdb.ZCard(ctx, ExpiryKey(list.Key)).Val(); n != int64(len(entries)) {
		t.Errorf("the expiry index holds %d entries, want %d", n, len(entries))
	}
}

// TestSweepBatchBounds checks the batch of Sweep: the default for 0 or
// less, and MaxSweepBatch at most.
func TestSweepBatchBounds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	list := SharedList(f.keys, "spam")
	entries := numbers("5511", MaxSweepBatch+DefaultSweepBatch+5)
	if _, err := f.store.Add(ctx, list, entries, AddOptions{Meta: Meta{ExpiresAt: t0.Add(time.Second)}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(time.Minute))
	for _, step := range []struct{ batch, removed int64 }{
		{0, DefaultSweepBatch},
		{2 * MaxSweepBatch, MaxSweepBatch},
		{-1, 5},
	} {
		if n, err := f.store.Sweep(ctx, list, step.batch); err != nil || n != step.removed {
			t.Fatalf("Sweep(%d) = %d, %v; want %d", step.batch, n, err, step.removed)
		}
	}
	if f.rdb.Exists(ctx, list.Key).Val() != 0 {
		t.Errorf("%s still exists", list.Key)
	}
}
