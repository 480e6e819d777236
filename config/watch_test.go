package config

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// watchCampaigns starts WatchDir on c.CampaignsDir, reloading campaigns on
// each change and sending the new set on the returned channel.
func watchCampaigns(t *testing.T, dir string, c *Config) <-chan map[string]*Campaign {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l := NewCampaignLoader(c)
	if _, err := l.Load(); err != nil {
		t.Fatal(err)
	}
	sets := make(chan map[string]*Campaign, 16)
	err := WatchDir(ctx, dir, func() {
		set, _ := l.Load()
		select {
		case sets <- set:
		case <-ctx.Done():
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

// waitFor receives sets until one satisfies ok, failing after a timeout.
func waitFor(t *testing.T, sets <-chan map[string]*Campaign, what string, ok func(map[string]*Campaign) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case set := <-sets:
			if ok(set) {
				return
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestWatchDirSeesWriteAndNewFile(t *testing.T) {
	c := testConfig(t)
	dir := c.CampaignsDir
	writeFile(t, dir, "promo.yaml", "description: v1\n")
	sets := watchCampaigns(t, dir, c)

	writeFile(t, dir, "promo.yaml", "description: v2\n")
	waitFor(t, sets, "promo v2", func(s map[string]*Campaign) bool {
		return s["promo"] != nil && s["promo"].Description == "v2"
	})

	writeFile(t, dir, "vendas.yaml", "description: new\n")
	waitFor(t, sets, "new file vendas", func(s map[string]*Campaign) bool {
		return s["vendas"] != nil
	})

	if err := os.Remove(filepath.Join(dir, "promo.yaml")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sets, "promo removed", func(s map[string]*Campaign) bool {
		return s["promo"] == nil && s["vendas"] != nil
	})
}

// The campaigns folder is a symlink that is atomically re-pointed to a new
// folder, as when a deployment swaps configuration versions.
func TestWatchDirSymlinkSwap(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "v1/promo.yaml", "description: v1\n")
	writeFile(t, root, "v2/promo.yaml", "description: v2\n")
	writeFile(t, root, "v3/promo.yaml", "description: v3\n")
	link := filepath.Join(root, "campaigns")
	if err := os.Symlink("v1", link); err != nil {
		t.Fatal(err)
	}
	swap := func(target string) {
		tmp := filepath.Join(root, "campaigns.tmp")
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
	}
	c := testConfig(t)
	c.CampaignsDir = link
	sets := watchCampaigns(t, link, c)

	swap("v2")
	waitFor(t, sets, "v2 after the swap", func(s map[string]*Campaign) bool {
		return s["promo"] != nil && s["promo"].Description == "v2"
	})
	// The watch follows the new folder: a write inside it is seen.
	writeFile(t, root, "v2/vendas.yaml", "")
	waitFor(t, sets, "write in the new folder", func(s map[string]*Campaign) bool {
		return s["vendas"] != nil
	})
	swap("v3")
	waitFor(t, sets, "v3 after the second swap", func(s map[string]*Campaign) bool {
		return s["promo"] != nil && s["promo"].Description == "v3" && s["vendas"] == nil
	})
}

func TestWatchDirMissingFolder(t *testing.T) {
	err := WatchDir(context.Background(), filepath.Join(t.TempDir(), "missing"), func() {})
	if err == nil {
		t.Fatal("WatchDir on a missing folder: no error")
	}
}

// A Kubernetes ConfigMap volume: the folder holds promo.yaml ->
// ..data/promo.yaml and ..data -> ..v1; an update re-points ..data.
func TestWatchDirConfigMapUpdate(t *testing.T) {
	c := testConfig(t)
	dir := c.CampaignsDir
	writeFile(t, dir, "..v1/promo.yaml", "description: v1\n")
	writeFile(t, dir, "..v2/promo.yaml", "description: v2\n")
	if err := os.Symlink("..v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/promo.yaml", filepath.Join(dir, "promo.yaml")); err != nil {
		t.Fatal(err)
	}
	sets := watchCampaigns(t, dir, c)

	if err := os.Symlink("..v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sets, "promo v2 after the ..data swap", func(s map[string]*Campaign) bool {
		return s["promo"] != nil && s["promo"].Description == "v2"
	})
}
