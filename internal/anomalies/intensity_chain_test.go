package anomalies

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/grid/builtin"
)

// TestChainIntensities: a DK1 site without stored hours or factors is
// rated at the plain mean of what the accounting resolves for the year
// before now (ecometer's built-in data: 2025 hour by hour, its mean
// standing in for 2026), as `co2` would; a site SiteIntensities rated keeps
// its figure; DK2, with no built-in data, stays without one.
func TestChainIntensities(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.DefaultConfig()
	cfg.Sites = []config.Site{{Name: "odense", PriceArea: config.DK1}, {Name: "cph", PriceArea: config.DK2}, {Name: "kept", PriceArea: config.DK1}}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	have := map[string]Intensity{"kept": {GPerKWh: 42, Source: "stored"}}
	got, err := ChainIntensities(ctx, acc, cfg, now, have)
	if err != nil {
		t.Fatal(err)
	}
	// The same hours through the accounting, averaged.
	var hours []time.Time
	for h := now.AddDate(-1, 0, 0); h.Before(now); h = h.Add(time.Hour) {
		hours = append(hours, h)
	}
	in, err := acc.Intensities(ctx, "DK1", hours)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, v := range in {
		want += float64(v.Value) / float64(len(in))
	}
	d, _ := builtin.Data()
	if o := got["odense"]; math.Abs(o.GPerKWh-want) > 1e-9 || len(d.Hourly) == 0 || !strings.Contains(o.Source, "h built-in-hourly") ||
		!strings.Contains(o.Source, "8760 hourly DK1") {
		t.Errorf("odense: %+v, want %v from the built-in data", o, want)
	}
	if got["kept"] != have["kept"] {
		t.Errorf("kept: %+v", got["kept"])
	}
	if _, ok := got["cph"]; ok {
		t.Errorf("cph (DK2, no data): %+v", got["cph"])
	}
}
