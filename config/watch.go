package config

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce timings of WatchDir.
const (
	// watchQuiet is how long the folder must be quiet before onChange runs.
	watchQuiet = 100 * time.Millisecond
	// watchMaxDelay bounds the wait when changes keep coming.
	watchMaxDelay = time.Second
)

// WatchDir starts watching folder dir and returns; from then on, until ctx
// ends, it calls onChange whenever something in dir is created, written,
// removed or renamed, once the folder has been quiet for about 100ms (at
// most about 1s after the first change of a burst). Calls to onChange are
// sequential, never concurrent.
//
// It also follows dir being replaced: a symlink swap (dir is a symlink
// atomically re-pointed to a new folder, as Kubernetes does for ConfigMap
// volumes, whose ..data link inside the folder is covered too) or the folder
// being removed and created again. For this it also watches dir's parent
// folder, if it can.
//
// WatchDir returns an error if the watch cannot start (dir missing, no
// inotify instances left). Events lost to a kernel queue overflow also
// cause a call, so the caller rereads everything.
func WatchDir(ctx context.Context, dir string, onChange func()) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	if err := w.Add(abs); err != nil {
		w.Close()
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	// Best effort: without the parent, replacing dir goes unnoticed but
	// changes inside it are still seen.
	_ = w.Add(filepath.Dir(abs))
	go watchLoop(ctx, w, abs, onChange)
	return nil
}

func watchLoop(ctx context.Context, w *fsnotify.Watcher, dir string, onChange func()) {
	defer w.Close()
	// Since Go 1.23 a stopped or reset timer never delivers a stale tick.
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	pending := false
	var first time.Time
	schedule := func() {
		now := time.Now()
		if !pending {
			pending, first = true, now
		}
		timer.Reset(min(watchQuiet, max(0, first.Add(watchMaxDelay).Sub(now))))
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Name == dir && ev.Op != fsnotify.Chmod {
				// dir itself was replaced, removed or created in its
				// parent: watch whatever it is now.
				_ = w.Remove(dir)
				_ = w.Add(dir)
				schedule()
				continue
			}
			if filepath.Dir(ev.Name) == dir && ev.Op != fsnotify.Chmod {
				schedule()
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				schedule()
			}
		case <-timer.C:
			pending = false
			if ctx.Err() == nil {
				onChange()
			}
		}
	}
}
