package monthcache_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/monthcache"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/targetview"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

const siteYAML = `sites:
  - {name: dc, accounting: it, market: {go_share_pct: 40, residual_g_per_kwh: 380, residual_source: test}}
x-d: &d {protocol: snmp, address: 127.0.0.1, interval: 5m, snmp: {community: env:X}}
devices:
  - {<<: *d, name: ups, site: dc, class: ups}
  - {<<: *d, name: pdu, site: dc, class: pdu, feeds: ups/total}
grid:
  area: DK1
  annual_factors: [{year: 2025, g_per_kwh: 100, source: test factor}]
`

func load(t *testing.T, yaml string) *config.Config {
	t.Helper()
	t.Setenv("X", "public")
	cfg, err := config.Parse("site.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var (
	oct = accounting.MonthOf(2025, time.October)
	nov = accounting.MonthOf(2025, time.November)
	sep = accounting.MonthOf(2025, time.September)
	// now is when the runs happen: October and November have ended.
	now = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
)

// samples are every 5 minutes of October and November (Danish), the UPS
// with a counter, the PDU with power only.
func samples() []sample.Sample {
	var out []sample.Sample
	kwh := 100.0
	for at := oct.From.Add(-2 * time.Hour); at.Before(nov.To); at = at.Add(5 * time.Minute) {
		kwh += 0.08
		out = append(out,
			sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "dc", Device: "ups", Class: "ups", Meter: "total", Source: "snmp"},
				Time: at, Fields: []sample.Field{sample.F("energy_kwh", kwh), sample.F("power_w", 960)}},
			sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "dc", Device: "pdu", Class: "pdu", Meter: "total", Source: "snmp"},
				Time: at, Fields: []sample.Field{sample.F("power_w", 700+float64(at.Hour()))}})
	}
	return out
}

func openStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// run is one command's run: a new accounting and months, the cache opened
// first. It returns the months' figures and the cache's stats.
func run(t *testing.T, cfg *config.Config, st accounting.Store, dir string, ps ...accounting.Period) ([]targetview.Month, monthcache.Stats) {
	t.Helper()
	ctx := context.Background()
	c, err := monthcache.Open(ctx, dir, cfg, cfg.Sites, st, now)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	ms := targetview.NewMonths(acc)
	ms.Keep(c)
	var out []targetview.Month
	for _, p := range ps {
		m, err := ms.Get(ctx, p.Year, p.Month)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out, c.Stats()
}

// fresh is the months as accounted without a cache.
func fresh(t *testing.T, cfg *config.Config, st accounting.Store, ps ...accounting.Period) []targetview.Month {
	t.Helper()
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	ms := targetview.NewMonths(acc)
	var out []targetview.Month
	for _, p := range ps {
		m, err := ms.Get(context.Background(), p.Year, p.Month)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// same checks that cached months give what accounting them again gives:
// the same JSON (every figure a command prints), the same metered totals
// of both levels.
func same(t *testing.T, what string, got, want []targetview.Month) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d months, want %d", what, len(got), len(want))
	}
	for i := range got {
		// A cached month keeps no hours: compare with a copy of want
		// without them (want is shared by concurrent runs; it is not
		// changed).
		w0 := want[i]
		w0.Sites = slices.Clone(want[i].Sites)
		for j := range w0.Sites {
			w0.Sites[j].Hours = nil
		}
		g, _ := json.Marshal(got[i])
		w, _ := json.Marshal(w0)
		if string(g) != string(w) {
			t.Errorf("%s: month %d:\n got %s\nwant %s", what, i, g, w)
		}
		for j := range want[i].Sites {
			if got[i].Sites[j].ITKWh != want[i].Sites[j].ITKWh || got[i].Sites[j].FacilityKWh != want[i].Sites[j].FacilityKWh {
				t.Errorf("%s: month %d site %d: IT/facility kWh %v/%v, want %v/%v", what, i, j,
					got[i].Sites[j].ITKWh, got[i].Sites[j].FacilityKWh, want[i].Sites[j].ITKWh, want[i].Sites[j].FacilityKWh)
			}
		}
	}
}

func stats(t *testing.T, what string, got monthcache.Stats, hits, misses, stored int) {
	t.Helper()
	if got.Hits != hits || got.Misses != misses || got.Stored != stored || got.Errors != 0 {
		t.Errorf("%s: %+v, want %d hits, %d misses, %d stored, no errors", what, got, hits, misses, stored)
	}
}

func TestReuseAndInvalidation(t *testing.T) {
	cfg := load(t, siteYAML)
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	if err := st.Write(ctx, samples()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	months := []accounting.Period{sep, oct, nov}

	got, s := run(t, cfg, st, dir, months...)
	stats(t, "first run", s, 0, 3, 3)
	same(t, "first run", got, fresh(t, cfg, st, months...))
	if got[1].Figure.EnergyKWh == 0 {
		t.Fatal("no energy in October: the test data do not test anything")
	}
	got, s = run(t, cfg, st, dir, months...)
	stats(t, "second run", s, 3, 0, 0)
	same(t, "from the cache", got, fresh(t, cfg, st, months...))

	// A late sample in October: October is read again (and differs), the
	// others still come from the cache.
	late := samples()[10]
	late.Time = oct.From.Add(36*time.Hour + 59*time.Minute) // the hour's last reading
	late.Fields = []sample.Field{sample.F("energy_kwh", 9000)}
	if err := st.Write(ctx, []sample.Sample{late}); err != nil {
		t.Fatal(err)
	}
	before := got[1].Figure
	got, s = run(t, cfg, st, dir, months...)
	stats(t, "after a late sample in October", s, 2, 1, 1)
	same(t, "after a late sample", got, fresh(t, cfg, st, months...))
	if got[1].Figure == before {
		t.Errorf("October unchanged by a counter jump: %+v", before)
	}

	// The hour before November (31 October 22:00 UTC) is part of
	// November's read: a sample there invalidates November too.
	edge := samples()[0]
	edge.Time = nov.From.Add(-30 * time.Minute)
	edge.Fields = []sample.Field{sample.F("power_w", 1)}
	if err := st.Write(ctx, []sample.Sample{edge}); err != nil {
		t.Fatal(err)
	}
	_, s = run(t, cfg, st, dir, months...)
	stats(t, "after a sample in the hour before November", s, 1, 2, 2)

	// New grid data, in a month the figures do not cover: a fallback could
	// reach it, so every month is read again.
	if err := st.WriteGrid(ctx, []store.GridHour{{Area: "DK1", Hour: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), GramsPerKWh: 55, Intervals: 1, Dataset: "CO2Emis"}}); err != nil {
		t.Fatal(err)
	}
	got, s = run(t, cfg, st, dir, months...)
	stats(t, "after a grid import", s, 0, 3, 3)
	same(t, "after a grid import", got, fresh(t, cfg, st, months...))

	// A configuration change the figures depend on.
	for _, c := range []struct{ name, from, to string }{
		{"an interval", "interval: 5m", "interval: 1m"},
		{"the market instruments", "go_share_pct: 40", "go_share_pct: 50"},
		{"an annual factor", "g_per_kwh: 100", "g_per_kwh: 101"},
	} {
		changed := load(t, replace(t, siteYAML, c.from, c.to))
		got, s = run(t, changed, st, dir, months...)
		stats(t, "after changing "+c.name, s, 0, 3, 3)
		same(t, "after changing "+c.name, got, fresh(t, changed, st, months...))
	}
	// … and back: the entries of the first configuration are still valid.
	_, s = run(t, cfg, st, dir, months...)
	stats(t, "the first configuration again", s, 3, 0, 0)
}

func replace(t *testing.T, s, from, to string) string {
	t.Helper()
	for i := 0; i+len(from) <= len(s); i++ {
		if s[i:i+len(from)] == from {
			return s[:i] + to + s[i+len(from):]
		}
	}
	t.Fatalf("%q not in the config", from)
	return ""
}

// TestWriteDuringRun: a sample written after the cache was opened, while
// the run accounts the month, is not hidden behind the entry the run
// stores: the next run reads the month again.
func TestWriteDuringRun(t *testing.T) {
	cfg := load(t, siteYAML)
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	if err := st.Write(ctx, samples()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, err := monthcache.Open(ctx, dir, cfg, cfg.Sites, st, now)
	if err != nil {
		t.Fatal(err)
	}
	late := samples()[20]
	late.Time = oct.From.Add(50 * time.Hour)
	late.Fields = []sample.Field{sample.F("power_w", 5)}
	if err := st.Write(ctx, []sample.Sample{late}); err != nil {
		t.Fatal(err)
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	ms := targetview.NewMonths(acc)
	ms.Keep(c)
	if _, err := ms.Get(ctx, 2025, time.October); err != nil {
		t.Fatal(err)
	}
	stats(t, "the run", c.Stats(), 0, 1, 1)
	_, s := run(t, cfg, st, dir, oct)
	stats(t, "the next run", s, 0, 1, 1)
}

// TestWhatIsNotKept: a month that had not ended, a month a site of which
// cannot be accounted, and another store's months.
func TestWhatIsNotKept(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	if err := st.Write(ctx, samples()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := load(t, siteYAML)
	c, err := monthcache.Open(ctx, dir, cfg, cfg.Sites, st, nov.To.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c.Store(nov, make([]accounting.Site, 1))
	if s := c.Stats(); s.Stored != 0 {
		t.Errorf("a month not yet ended was kept: %+v", s)
	}

	// DK2 has neither stored, built-in nor configured data: the site
	// cannot be accounted, and its months are not kept.
	dk2 := load(t, replace(t, siteYAML, "accounting: it,", "accounting: it, price_area: DK2,"))
	_, s := run(t, dk2, st, dir, oct)
	stats(t, "a site without grid data", s, 0, 1, 0)

	// The same configuration over another database with the same samples.
	other := openStore(t, t.TempDir())
	if err := other.Write(ctx, samples()); err != nil {
		t.Fatal(err)
	}
	_, s = run(t, cfg, st, dir, oct)
	stats(t, "the first store", s, 0, 1, 1)
	_, s = run(t, cfg, other, dir, oct)
	stats(t, "another store", s, 0, 1, 1)
	_, s = run(t, cfg, st, dir, oct)
	stats(t, "the first store again", s, 1, 0, 0)
}

// TestDamagedEntry: an entry that cannot be read is a miss, counted as an
// error, and replaced.
func TestDamagedEntry(t *testing.T) {
	ctx := context.Background()
	cfg := load(t, siteYAML)
	st := openStore(t, t.TempDir())
	if err := st.Write(ctx, samples()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run(t, cfg, st, dir, oct)
	entries, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	if err := os.WriteFile(entries[0], []byte(`{"format": "monthcache/1", "sites": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, s := run(t, cfg, st, dir, oct)
	if s.Hits != 0 || s.Misses != 1 || s.Stored != 1 || s.Errors != 1 {
		t.Errorf("damaged entry: %+v", s)
	}
	_, s = run(t, cfg, st, dir, oct)
	stats(t, "replaced entry", s, 1, 0, 0)
}

// TestConcurrentRuns: runs sharing a directory (a report job and a
// command at once) never read half an entry.
func TestConcurrentRuns(t *testing.T) {
	ctx := context.Background()
	cfg := load(t, siteYAML)
	st := openStore(t, t.TempDir())
	if err := st.Write(ctx, samples()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	want := fresh(t, cfg, st, oct, nov)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, s := run(t, cfg, st, dir, oct, nov)
			same(t, "concurrent run", got, want)
			if s.Errors != 0 {
				t.Errorf("concurrent run: %+v", s)
			}
		}()
	}
	wg.Wait()
}

// TestInfluxIsNotCached: InfluxDB has no sample versions (other programs
// may write to it), so its months are never cached.
func TestInfluxIsNotCached(t *testing.T) {
	srv := testenv.Influx(t)
	cfg := load(t, siteYAML)
	cfg.Storage.InfluxDB.URL, cfg.Storage.InfluxDB.Bucket = srv.URL, srv.Bucket
	st, err := backend.OpenInflux(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := monthcache.OpenDefault(context.Background(), cfg, cfg.Sites, st, now); !errors.Is(err, monthcache.ErrUnversioned) {
		t.Errorf("InfluxDB: %v, want ErrUnversioned", err)
	}
}
