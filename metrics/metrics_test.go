package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// scrape fetches m's /metrics over HTTP and parses it as Prometheus text.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// labelKey renders a metric's labels as "name=value,..." in label order.
func labelKey(m *dto.Metric) string {
	pairs := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		pairs = append(pairs, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(pairs, ",")
}

// values returns the value of every series of a counter or gauge family,
// by labelKey.
func values(t *testing.T, fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		t.Fatalf("no metric family %s", name)
	}
	got := map[string]float64{}
	for _, m := range fam.GetMetric() {
		switch {
		case m.Counter != nil:
			got[labelKey(m)] = m.GetCounter().GetValue()
		case m.Gauge != nil:
			got[labelKey(m)] = m.GetGauge().GetValue()
		default:
			t.Fatalf("%s is a %v, want a counter or a gauge", name, fam.GetType())
		}
	}
	return got
}

// histograms returns the sample count and sum of every series of a
// histogram family, by labelKey.
func histograms(t *testing.T, fams map[string]*dto.MetricFamily, name string) map[string]*dto.Histogram {
	t.Helper()
	fam, ok := fams[name]
	if !ok || fam.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("no histogram %s", name)
	}
	got := map[string]*dto.Histogram{}
	for _, m := range fam.GetMetric() {
		got[labelKey(m)] = m.GetHistogram()
	}
	return got
}

// assertBuckets fails unless the finite bucket bounds of h run from first
// to last.
func assertBuckets(t *testing.T, name string, h *dto.Histogram, first, last float64) {
	t.Helper()
	var bounds []float64
	for _, b := range h.GetBucket() {
		if !math.IsInf(b.GetUpperBound(), +1) {
			bounds = append(bounds, b.GetUpperBound())
		}
	}
	if len(bounds) < 2 || bounds[0] != first || bounds[len(bounds)-1] != last || !slices.IsSorted(bounds) {
		t.Errorf("%s buckets %v, want %v to %v", name, bounds, first, last)
	}
}

// assertValues fails unless got has exactly the series of want, with their
// values.
func assertValues(t *testing.T, name string, got, want map[string]float64) {
	t.Helper()
	if maps.Equal(got, want) {
		return
	}
	keys := slices.Sorted(maps.Keys(got))
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	var diff strings.Builder
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !wok:
			fmt.Fprintf(&diff, "\n  unexpected {%s} %v", k, g)
		case !gok:
			fmt.Fprintf(&diff, "\n  missing {%s}, want %v", k, w)
		case g != w:
			fmt.Fprintf(&diff, "\n  {%s} = %v, want %v", k, g, w)
		}
	}
	t.Errorf("%s:%s", name, diff.String())
}

// timeoutError is a net.Error that timed out, as go-redis returns on a
// read deadline.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func allowed(campaign string) guard.Observation {
	return guard.Observation{Verdict: guard.Verdict{Status: guard.StatusAllowed, Campaign: campaign}, Took: time.Millisecond}
}

func blocked(campaign, list string) guard.Observation {
	return guard.Observation{Verdict: guard.Verdict{Status: guard.StatusBlocked, Block: true, Campaign: campaign, List: list}, Took: time.Millisecond}
}

func failed(campaign string, err error) guard.Observation {
	return guard.Observation{Verdict: guard.Verdict{Status: guard.StatusError, Campaign: campaign, Err: err}, Took: time.Millisecond}
}

func TestChecks(t *testing.T) {
	m := New()
	m.SetCampaigns([]string{"promo", "collections", "promo", "", "_none"})
	m.SetLists([]string{"dnc", "procon"})
	invalid := fmt.Errorf("normalizing: %w", &number.Error{Input: "abc", Reason: "no digits"})
	observations := []struct {
		o     guard.Observation
		times int
	}{
		{allowed("promo"), 3},
		{blocked("promo", "dnc"), 2},
		{blocked("promo", "promo"), 1},        // the campaign's own list
		{blocked("promo", "removed-list"), 1}, // a list not configured
		{blocked("promo", "collections"), 1},  // another campaign's name is no list label
		{blocked("collections", "procon"), 1}, //
		{failed("collections", invalid), 1},   // not Redis
		{failed("collections", fmt.Errorf("redis check: %w", context.DeadlineExceeded)), 1},
		{failed("promo", fmt.Errorf("redis check: %w", timeoutError{})), 1},
		{failed("promo", errors.New("READONLY You can't write against a read only replica")), 1},
		{allowed(""), 2},
		{blocked("", "dnc"), 1},
		{allowed("campaign-1"), 1},
		{allowed("campaign-2"), 1},
		{blocked("campaign-3", "campaign-3"), 1}, // an unknown campaign's own list
		{blocked("campaign-4", "dnc"), 1},
		{failed("campaign-5", errors.New("connection refused")), 1},
	}
	n := 0
	for _, ob := range observations {
		for range ob.times {
			m.ObserveCheck(ob.o)
			n++
		}
	}

	fams := scrape(t, m)
	assertValues(t, "checks_total", values(t, fams, "blacklist_agi_checks_total"), map[string]float64{
		"campaign=promo,list=,verdict=allowed":             3,
		"campaign=promo,list=,verdict=error":               2,
		"campaign=promo,list=dnc,verdict=blocked":          2,
		"campaign=promo,list=promo,verdict=blocked":        1,
		"campaign=promo,list=_other,verdict=blocked":       2,
		"campaign=collections,list=,verdict=allowed":       0,
		"campaign=collections,list=,verdict=error":         2,
		"campaign=collections,list=procon,verdict=blocked": 1,
		"campaign=_none,list=,verdict=allowed":             2,
		"campaign=_none,list=,verdict=error":               0,
		"campaign=_none,list=dnc,verdict=blocked":          1,
		"campaign=_unknown,list=,verdict=allowed":          2,
		"campaign=_unknown,list=,verdict=error":            1,
		"campaign=_unknown,list=_other,verdict=blocked":    1,
		"campaign=_unknown,list=dnc,verdict=blocked":       1,
	})
	assertValues(t, "redis_errors_total", values(t, fams, "blacklist_agi_redis_errors_total"), map[string]float64{
		"kind=timeout": 2,
		"kind=other":   2,
	})
	h := histograms(t, fams, "blacklist_agi_check_duration_seconds")[""]
	if want := float64(n) * 0.001; h.GetSampleCount() != uint64(n) || math.Abs(h.GetSampleSum()-want) > 1e-9 {
		t.Errorf("check_duration_seconds: count %d, sum %v; want %d, %v", h.GetSampleCount(), h.GetSampleSum(), n, want)
	}
	assertBuckets(t, "check_duration_seconds", h, 0.0001, 1)
	for _, b := range h.GetBucket() {
		want := uint64(0) // every check took 1ms
		if b.GetUpperBound() >= 0.001 {
			want = uint64(n)
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("check_duration_seconds{le=%v} = %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
}

func TestSetCampaignsAndListsRemoveStaleSeries(t *testing.T) {
	m := New()
	m.SetCampaigns([]string{"promo", "old", "dnc"})
	m.SetLists([]string{"dnc", "gone"})
	for _, o := range []guard.Observation{
		allowed("promo"), allowed("old"), blocked("old", "dnc"),
		blocked("promo", "gone"), blocked("promo", "dnc"), blocked("dnc", "dnc"), blocked("_unknown", "gone"),
	} {
		m.ObserveCheck(o)
	}
	m.SetCampaigns([]string{"promo", "dnc", "new"})
	m.SetLists([]string{"procon"})
	m.ObserveCheck(allowed("new"))
	m.ObserveCheck(allowed("old")) // no longer configured
	m.ObserveCheck(blocked("promo", "gone"))
	m.ObserveCheck(blocked("promo", "procon"))

	assertValues(t, "checks_total", values(t, scrape(t, m), "blacklist_agi_checks_total"), map[string]float64{
		"campaign=promo,list=,verdict=allowed":       1,
		"campaign=promo,list=,verdict=error":         0,
		"campaign=promo,list=_other,verdict=blocked": 1,
		"campaign=promo,list=procon,verdict=blocked": 1,
		"campaign=dnc,list=,verdict=allowed":         0,
		"campaign=dnc,list=,verdict=error":           0,
		"campaign=dnc,list=dnc,verdict=blocked":      1, // the campaign dnc's own list stays
		"campaign=new,list=,verdict=allowed":         1,
		"campaign=new,list=,verdict=error":           0,
		"campaign=_none,list=,verdict=allowed":       0,
		"campaign=_none,list=,verdict=error":         0,
		"campaign=_unknown,list=,verdict=allowed":    1,
		"campaign=_unknown,list=,verdict=error":      0,
		// {campaign=_unknown,list=gone} went with the list gone.
	})
}

func TestConfigReloaded(t *testing.T) {
	m := New()
	assertValues(t, "config_reloads_total", values(t, scrape(t, m), "blacklist_agi_config_reloads_total"), map[string]float64{
		"result=ok": 0, "result=error": 0,
	})
	m.ConfigReloaded(nil)
	m.ConfigReloaded(errors.New(`campaigns/promo.yaml: unknown field "actoin"`))
	m.ConfigReloaded(nil)
	assertValues(t, "config_reloads_total", values(t, scrape(t, m), "blacklist_agi_config_reloads_total"), map[string]float64{
		"result=ok": 2, "result=error": 1,
	})
}

func TestPrivateRegistryWithRuntimeCollectors(t *testing.T) {
	global := prometheus.NewCounter(prometheus.CounterOpts{Name: "metrics_test_global_total", Help: "A counter on the global registry."})
	prometheus.MustRegister(global)
	t.Cleanup(func() { prometheus.Unregister(global) })

	fams := scrape(t, New())
	for _, name := range []string{
		"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_open_fds",
		"blacklist_agi_sessions_in_flight", "blacklist_agi_sessions_total", "blacklist_agi_session_duration_seconds",
		"blacklist_agi_checks_total", "blacklist_agi_check_duration_seconds", "blacklist_agi_redis_errors_total",
		"blacklist_agi_config_reloads_total",
	} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	if _, ok := fams["metrics_test_global_total"]; ok {
		t.Error("a collector of the global registry is scraped")
	}
}

// TestObserveCheckDuringReloads checks that no observation is lost while the
// label caches are rebuilt under it.
func TestObserveCheckDuringReloads(t *testing.T) {
	m := New()
	m.SetCampaigns([]string{"promo"})
	m.SetLists([]string{"dnc"})
	const workers, each = 4, 3000
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				switch i % 3 {
				case 0:
					m.ObserveCheck(allowed("promo"))
				case 1:
					m.ObserveCheck(blocked("promo", "dnc"))
				default:
					m.ObserveCheck(blocked("promo", "promo"))
				}
			}
		}()
	}
	running := workers
	for i := 0; running > 0; i++ {
		select {
		case <-done:
			running--
		default:
			// Churn only what the observations do not use.
			m.SetCampaigns([]string{"promo", fmt.Sprint("c", i%3)})
			m.SetLists([]string{"dnc", fmt.Sprint("l", i%3)})
		}
	}
	got := values(t, scrape(t, m), "blacklist_agi_checks_total")
	const perKind = workers * each / 3
	for _, key := range []string{
		"campaign=promo,list=,verdict=allowed", "campaign=promo,list=dnc,verdict=blocked", "campaign=promo,list=promo,verdict=blocked",
	} {
		if got[key] != perKind {
			t.Errorf("{%s} = %v, want %d", key, got[key], perKind)
		}
	}
}

func TestObserveCheckDoesNotAllocate(t *testing.T) {
	m := New()
	m.SetCampaigns([]string{"promo"})
	m.SetLists([]string{"dnc"})
	timeout := fmt.Errorf("redis check: %w", timeoutError{})
	for _, o := range []guard.Observation{
		allowed("promo"), allowed("unknown"), blocked("promo", "dnc"), blocked("promo", "promo"),
		blocked("promo", "other"), failed("promo", timeout), failed("promo", io.ErrUnexpectedEOF),
	} {
		m.ObserveCheck(o) // creates the blocked child
		if n := testing.AllocsPerRun(100, func() { m.ObserveCheck(o) }); n != 0 {
			t.Errorf("ObserveCheck(%s %s %s %v): %v allocations, want 0", o.Verdict.Status, o.Verdict.Campaign, o.Verdict.List, o.Verdict.Err, n)
		}
	}
}

func BenchmarkObserveCheck(b *testing.B) {
	m := New()
	m.SetCampaigns([]string{"promo", "collections", "retention"})
	m.SetLists([]string{"dnc", "procon", "anatel"})
	for _, bb := range []struct {
		name string
		o    guard.Observation
	}{
		{"allowed", allowed("promo")},
		{"blocked", blocked("promo", "procon")},
		{"unknown campaign", blocked("campaign-9", "campaign-9")},
		{"redis timeout", failed("promo", fmt.Errorf("redis check: %w", timeoutError{}))},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.ObserveCheck(bb.o)
			}
		})
	}
}
