package main_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEndToEndAdminListener checks the probes and the metrics of the built
// server: /readyz follows Redis down and back, and /metrics parses as
// Prometheus text with counters that match the calls made.
func TestEndToEndAdminListener(t *testing.T) {
	redistest.Addr(t)
	rp, addr, rdb := privateRedis(t)
	ctx := context.Background()
	keys := blacklist.Keys{Prefix: "adm:"}
	rdb.SAdd(ctx, keys.Campaign("promo"), "5511987654321")
	s := startServer(t, "adm:", addr, map[string]string{"promo.yaml": "lists: [spam]\n"})
	base := "http://" + s.admin

	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz with Redis up: %d %s", code, body)
	}
	for i := 0; i < 3; i++ {
		s.call(t, "promo", "5511987654321")
	}
	s.call(t, "promo", "5511912345678")
	s.call(t, "nosuch", "5511912345678")

	code, body := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	counts := map[string]float64{}
	for _, m := range families["blacklist_agi_checks_total"].GetMetric() {
		var labels []string
		for _, l := range m.GetLabel() {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		counts[strings.Join(labels, ",")] = m.GetCounter().GetValue()
	}
	want := map[string]float64{
		"campaign=promo,list=promo,verdict=blocked": 3,
		"campaign=promo,list=,verdict=allowed":      1,
		"campaign=_unknown,list=,verdict=allowed":   1,
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("blacklist_agi_checks_total{%s} = %v, want %v (all: %v)", k, counts[k], v, counts)
		}
	}

	rp.Stop()
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(strings.ToLower(body), "redis") {
		t.Errorf("/readyz with Redis down: %d %s", code, body)
	}
	startRedis(t, rp.Port, t.TempDir())
	var ready int
	for i := 0; i < 5 && ready != 200; i++ { // a pooled connection may fail once
		ready, _ = get(t, base+"/readyz")
	}
	if ready != 200 {
		t.Errorf("/readyz after Redis came back: %d", ready)
	}
}
