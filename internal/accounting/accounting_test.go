package accounting_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/sample"
)

// A UPS (IT accounting meter, own energy counter) feeds two PDUs; one PDU's
// outlet 3 feeds a server. A facility meter feeds the UPS. Site "dc"
// accounts at facility level; site "room" at IT level with an assumed PUE
// and market instruments.
const site = `sites:
  - {name: dc, accounting: facility}
  - name: room
    assumed_pue: 1.5
    market: {go_share_pct: 50, residual_g_per_kwh: 400, residual_source: test residual}
x-d: &d {protocol: snmp, address: 127.0.0.1, interval: 5m, snmp: {community: env:X}}
devices:
  - {<<: *d, name: fac, site: dc, class: facility}
  - {<<: *d, name: ups, site: dc, class: ups, feeds: fac/total, rack: R0, room: hall}
  - {<<: *d, name: pdu-a, site: dc, class: pdu, feeds: ups/total, rack: R1, room: hall}
  - {<<: *d, name: pdu-b, site: dc, class: pdu, feeds: ups/total, rack: R2, room: hall}
  - {<<: *d, name: srv, site: dc, class: server, feeds: pdu-a/outlet/3, rack: R1, room: hall}
  - {<<: *d, name: sw, site: room, class: switch}
grid:
  area: DK1
  annual_factors: [{year: 2025, g_per_kwh: 100, source: test factor}]
`

func load(t *testing.T) *config.Config {
	t.Helper()
	t.Setenv("X", "public")
	cfg, err := config.Parse("site.yaml", []byte(site))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The day 2025-10-02 (Danish), every 5 minutes. Power in W; the UPS also
// reports an energy counter that resets to 0 at 12:00 UTC.
var day = struct{ from, to time.Time }{
	time.Date(2025, 10, 1, 22, 0, 0, 0, time.UTC), time.Date(2025, 10, 2, 22, 0, 0, 0, time.UTC)}

func samples() []sample.Sample {
	var out []sample.Sample
	p := func(s, dev, class, meter string, at time.Time, fields ...sample.Field) {
		out = append(out, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: s, Device: dev, Class: class, Meter: meter, Source: "snmp"},
			Time: at, Fields: fields})
	}
	var counter float64
	reset := time.Date(2025, 10, 2, 12, 0, 0, 0, time.UTC)
	// From 10 minutes before the day: the counter's first delta starts there.
	for at := day.from.Add(-10 * time.Minute); at.Before(day.to); at = at.Add(5 * time.Minute) {
		if at.Equal(reset) {
			counter = 0
		} else if at.After(day.from.Add(-10 * time.Minute)) {
			counter += 1.0 * 5 / 60 // 1 kW for 5 minutes
		}
		if at.Before(day.from) {
			p("dc", "ups", "ups", "total", at, sample.F("energy_kwh", counter))
			continue
		}
		p("dc", "fac", "facility", "total", at, sample.F("power_w", 1500))
		p("dc", "ups", "ups", "total", at, sample.F("energy_kwh", counter), sample.F("power_w", 1000))
		p("dc", "pdu-a", "pdu", "total", at, sample.F("power_w", 500))
		p("dc", "pdu-a", "pdu", "outlet/3", at, sample.F("power_w", 320))
		p("dc", "pdu-a", "pdu", "phase/L1", at, sample.F("power_w", 500))
		p("dc", "pdu-b", "pdu", "total", at, sample.F("power_w", 300))
		p("dc", "srv", "server", "total", at, sample.F("power_w", 300))
		if h := at.Hour(); h >= 6 && h < 18 { // the switch only by day (UTC)
			p("room", "sw", "switch", "total", at, sample.F("power_w", 100))
		}
	}
	return out
}

// stores returns the embedded store and a real InfluxDB, holding the same
// samples and an hour of grid data.
func stores(t *testing.T) map[string]accounting.Store {
	t.Helper()
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	srv := testenv.Influx(t)
	cfg := config.DefaultConfig()
	cfg.Storage.InfluxDB.URL, cfg.Storage.InfluxDB.Bucket = srv.URL, srv.Bucket
	in, err := backend.OpenInflux(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	out := map[string]accounting.Store{"sqlite": sq, "influxdb": in}
	// 08:00 UTC is measured at 50 g/kWh; the rest falls back.
	g := []store.GridHour{{Area: "DK1", Hour: time.Date(2025, 10, 2, 8, 0, 0, 0, time.UTC), GramsPerKWh: 50, Intervals: 12, Dataset: "CO2Emis"}}
	for name, st := range map[string]interface {
		store.Writer
		store.GridWriter
	}{"sqlite": sq, "influxdb": in} {
		if err := st.Write(ctx, samples()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := st.WriteGrid(ctx, g); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestSiteAndMetersOnBothBackends(t *testing.T) {
	cfg := load(t)
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			acc, err := accounting.New(cfg, st)
			if err != nil {
				t.Fatal(err)
			}
			dc, err := acc.Site(ctx, cfg.Sites[0], day.from, day.to)
			if err != nil {
				t.Fatal(err)
			}
			// Facility level: the facility meter alone, 1.5 kW × 24 h.
			if !near(dc.EnergyKWh, 36) || dc.CoveragePct != 100 || dc.HoursWith != 24 || len(dc.Meters) != 1 || dc.Meters[0] != "fac/total" {
				t.Errorf("dc: %v kWh at %v, coverage %v, %d hours", dc.EnergyKWh, dc.Meters, dc.CoveragePct, dc.HoursWith)
			}
			// The UPS's IT energy comes from its counter, across its reset:
			// the 5 minutes before the reset are unknowable (the counter
			// restarts from 0), the rest is counted, never negative:
			// 24 − 1/12 kWh. PUE = 36 / that, measured.
			ups := 24 - 1.0/12
			if !near(dc.ITKWh, ups) || dc.PUE == nil || dc.PUE.Assumed || !near(dc.PUE.Value, 36/ups) {
				t.Errorf("dc IT %v kWh, PUE %+v; want %v and %v measured", dc.ITKWh, dc.PUE, ups, 36/ups)
			}
			// One hour measured (1.5 kWh × 50 g), 23 at the built-in hourly
			// data of 2025 (ahead of the config's annual factor).
			want := 1.5 * 50
			for h := day.from; h.Before(day.to); h = h.Add(time.Hour) {
				if h.Hour() != 8 {
					want += 1.5 * builtInHour(t, h)
				}
			}
			if want /= 1000; !near(dc.Location.KgCO2e, want) || !near(dc.Location.FallbackSharePct, 100*23.0/24) ||
				!near(dc.Location.EnergyBySource[string(grid.BuiltInHourly)], 23*1.5) {
				t.Errorf("dc location %+v, want %v kg", dc.Location, want)
			}
			if dc.FacilityEstimate != nil || dc.Market.Configured {
				t.Errorf("dc: estimate %+v, market %+v; want neither", dc.FacilityEstimate, dc.Market)
			}

			// The IT-level room with an assumed PUE: its Scope 2 is IT only,
			// and the whole-site estimate is on its own.
			room, err := acc.Site(ctx, cfg.Sites[1], day.from, day.to)
			if err != nil {
				t.Fatal(err)
			}
			if !near(room.EnergyKWh, 1.2) || room.HoursWith != 12 || !near(room.CoveragePct, 50) {
				t.Errorf("room: %v kWh, %d hours, coverage %v", room.EnergyKWh, room.HoursWith, room.CoveragePct)
			}
			if e := room.FacilityEstimate; e == nil || !near(e.EnergyKWh, 1.8) || !near(e.LocationKgCO2e, room.Location.KgCO2e*1.5) ||
				e.MarketKgCO2e == nil || !near(*e.MarketKgCO2e, *room.Market.KgCO2e*1.5) {
				t.Errorf("room facility estimate %+v", room.FacilityEstimate)
			}
			if m := room.Market; !m.Configured || m.KgCO2e == nil || !near(*m.KgCO2e, 0.6*400/1000) {
				t.Errorf("room market %+v, want 0.6 kWh at 400 g", room.Market)
			}

			// Meters: own shares telescope to the accounting meter.
			meters, err := acc.Meters(ctx, "dc", day.from, day.to)
			if err != nil {
				t.Fatal(err)
			}
			own := map[string]float64{}
			counted := map[string]bool{}
			for _, m := range meters {
				own[m.Device+"/"+m.Meter] = m.OwnKWh
				counted[m.Device+"/"+m.Meter] = m.Counted
			}
			for ref, want := range map[string]float64{"ups/total": ups - 12 - 7.2, "pdu-a/total": 12 - 7.68, "pdu-a/outlet/3": 7.68 - 7.2,
				"srv/total": 7.2, "pdu-b/total": 7.2} {
				if !near(own[ref], want) || !counted[ref] {
					t.Errorf("%s: own %v kWh (counted %v), want %v", ref, own[ref], counted[ref], want)
				}
			}
			if counted["pdu-a/phase/L1"] {
				t.Error("a phase sub-meter is counted")
			}
			// The site accounts at facility level: the facility meter counts
			// too, and the groups add up to its 36 kWh.
			groups, err := acc.Groups(meters, "rack")
			if err != nil {
				t.Fatal(err)
			}
			var sum float64
			byKey := map[string]accounting.Group{}
			for _, g := range groups {
				sum += g.EnergyKWh
				byKey[g.Key] = g
			}
			if !near(sum, 36) || !near(byKey["R1"].EnergyKWh, 4.32+0.48+7.2) || !near(byKey["(none)"].EnergyKWh, 36-ups) || !near(byKey["(none)"].LossesKWh, 36-ups) {
				t.Errorf("groups by rack %+v (sum %v), want 36 with R1 = 12 and the facility's own %v kWh as losses/unmetered", groups, sum, 36-ups)
			}
			bal, err := acc.Balances(meters)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bal {
				if b.Meter.Device == "ups" && (!near(float64(b.Attributed), 7.2+7.2) || b.Leaves != 2) {
					t.Errorf("ups balance %+v, want srv + pdu-b = 14.4 kWh", b)
				}
			}
		})
	}
}

// Hours without energy need no grid data: a month whose only metered hours
// have data resolves without any annual factor.
func TestOnlyHoursWithEnergyNeedGrid(t *testing.T) {
	cfg := load(t)
	cfg.Grid.AnnualFactors = nil
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := time.Date(2025, 10, 2, 8, 0, 0, 0, time.UTC)
	var batch []sample.Sample
	for m := 0; m < 60; m += 5 {
		batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "room", Device: "sw", Class: "switch", Meter: "total", Source: "snmp"},
			Time: h.Add(time.Duration(m) * time.Minute), Fields: []sample.Field{sample.F("power_w", 100)}})
	}
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteGrid(ctx, []store.GridHour{{Area: "DK1", Hour: h, GramsPerKWh: 80, Intervals: 12, Dataset: "CO2Emis"}}); err != nil {
		t.Fatal(err)
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	p := accounting.MonthOf(2025, time.October)
	r, err := acc.Site(ctx, cfg.Sites[1], p.From, p.To)
	if err != nil {
		t.Fatalf("a month with one metered hour of known intensity: %v", err)
	}
	if r.HoursWith != 1 || !near(r.Location.KgCO2e, 0.1*80/1000) || len(r.Hours) != 1 || r.Hours[0].Source != grid.Measured {
		t.Errorf("%+v", r)
	}
	// Without that hour's data and without factors: the built-in hour.
	cfg2 := load(t)
	cfg2.Grid.AnnualFactors = nil
	st2, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if err := st2.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	acc2, _ := accounting.New(cfg2, st2)
	r, err = acc2.Site(ctx, cfg2.Sites[1], p.From, p.To)
	if err != nil || len(r.Hours) != 1 || r.Hours[0].Source != grid.BuiltInHourly || !near(r.Location.KgCO2e, 0.1*builtInHour(t, h)/1000) {
		t.Errorf("no imported grid data: %+v, %v", r, err)
	}
}

func TestTwoSeriesOfOneMeterIsAnError(t *testing.T) {
	cfg := load(t)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2025, 10, 2, 8, 0, 0, 0, time.UTC)
	var batch []sample.Sample
	for _, src := range []string{"snmp", "redfish"} {
		batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "room", Device: "sw", Class: "switch", Meter: "total", Source: src},
			Time: at, Fields: []sample.Field{sample.F("power_w", 100)}})
	}
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	acc, _ := accounting.New(cfg, st)
	_, err = acc.Site(ctx, cfg.Sites[1], day.from, day.to)
	if err == nil || !strings.Contains(err.Error(), "room/sw/total has samples in two series (source redfish") {
		t.Errorf("two sources: %v", err)
	}
}

func TestChainThatCountsTwiceIsAConfigError(t *testing.T) {
	cfg := load(t)
	// The facility meter fed by the UPS, an IT meter: facility energy
	// would hold only part of IT energy.
	cfg.Devices[0].Feeds, cfg.Devices[1].Feeds = "ups/total", ""
	_, err := accounting.New(cfg, nil)
	var ce *accounting.ChainError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "IT accounting meter dc/ups/total feeds facility meter dc/fac/total") {
		t.Errorf("double-counting chain: %v", err)
	}
}

func TestParseMonth(t *testing.T) {
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	for s, ok := range map[string]bool{"2026-11": true, "2026-12": true, "2027-01": false, "2026-13": false, "26-11": false} {
		p, err := accounting.ParseMonth(s, now)
		if (err == nil) != ok {
			t.Errorf("ParseMonth(%q) = %+v, %v", s, p, err)
		}
	}
	p, _ := accounting.ParseMonth("2026-03", now)
	// March 2026 in Danish time: 1 March 00:00 CET to 1 April 00:00 CEST.
	if !p.From.Equal(time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC)) || !p.To.Equal(time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC)) ||
		p.Label() != "2026-03" || p.Previous().Label() != "2026-02" || p.YearBefore().Label() != "2025-03" {
		t.Errorf("2026-03: %+v", p)
	}
	if l := accounting.LastFullMonth(now); l.Label() != "2026-11" {
		t.Errorf("last full month %s", l.Label())
	}
	if y, m := accounting.AddMonths(2026, time.January, -1); y != 2025 || m != time.December {
		t.Errorf("AddMonths: %d-%d", y, m)
	}
}
