package monthly

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/influx"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
	"github.com/ecometer/ecometer/reports/i18n"
)

// The report benchmarks time one month's report (Build, then the PDF, CSV
// and JSON) for N meters polled every minute, from the embedded store (raw
// samples, as the store holds the last 90 days) and from a real InfluxDB
// (hourly rollups, or raw points aggregated by InfluxDB). Loading the
// samples is set-up, not timed. The scale comes from the environment:
//
//	ECOMETER_BENCH_METERS   meters (default 5000), 250 per site
//	ECOMETER_BENCH_DAYS     days of the month loaded (default 31: all of it)
//
//	go test ./reports/monthly -run '^$' -bench 'Report(SQLite|SQLiteMaterialized|SQLiteHourly|Influx|InfluxRaw)$' -benchtime 1x -timeout 6h
var benchMonth = accounting.MonthOf(2025, time.October)

func benchScale(b *testing.B) (meters, days int) {
	meters, days = 5000, 31
	if v, err := strconv.Atoi(os.Getenv("ECOMETER_BENCH_METERS")); err == nil && v > 0 {
		meters = v
	}
	if v, err := strconv.Atoi(os.Getenv("ECOMETER_BENCH_DAYS")); err == nil && v > 0 && v <= 31 {
		days = v
	}
	return meters, days
}

const benchMetersPerSite = 250

// benchConfig is meters PDUs (3 of 4 with an energy counter) in sites of
// 250, annual grid factors for the intensity.
func benchConfig(b *testing.B, meters int, storage string) *config.Config {
	var y strings.Builder
	sites := (meters + benchMetersPerSite - 1) / benchMetersPerSite
	y.WriteString("sites:\n")
	for s := range sites {
		fmt.Fprintf(&y, "  - {name: site-%02d, accounting: it}\n", s)
	}
	y.WriteString("devices:\n")
	for m := range meters {
		fmt.Fprintf(&y, "  - {name: pdu-%05d, site: site-%02d, room: r%d, rack: k%d, class: pdu, protocol: snmp, address: 127.0.0.1, interval: 1m, snmp: {community: env:C}}\n",
			m, m/benchMetersPerSite, m%4, m%40)
	}
	y.WriteString("grid:\n  annual_factors:\n    - {year: 2025, g_per_kwh: 110, source: bench}\n")
	y.WriteString(storage)
	cfg, err := config.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// benchLoad writes days of minute samples for every meter to w, in
// batches of one minute of all meters.
func benchLoad(b *testing.B, cfg *config.Config, w store.Writer, days int) int {
	ctx := context.Background()
	from := benchMonth.From
	to := from.Add(time.Duration(days) * 24 * time.Hour)
	n := 0
	batch := make([]sample.Sample, 0, 20_000)
	flush := func() {
		if err := w.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		n += len(batch)
		batch = batch[:0]
	}
	start := time.Now()
	for at := from; at.Before(to); at = at.Add(time.Minute) {
		for i, d := range cfg.Devices {
			watts := float64(200 + (i*37)%800)
			minutes := at.Sub(from).Minutes()
			fields := []sample.Field{sample.F("power_w", watts)}
			if i%4 != 3 {
				fields = append(fields, sample.F("energy_kwh", 1000+float64(i)+watts*minutes/60_000))
			}
			batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: d.Site, Room: d.Room, Rack: d.Rack,
				Device: d.Name, Class: "pdu", Meter: "total", Source: "snmp"}, Time: at, Fields: fields})
			if len(batch) == cap(batch) {
				flush()
			}
		}
		if at.Sub(from)%(24*time.Hour) == 0 && at != from {
			b.Logf("loaded day %d: %d samples, %.0f samples/s", int(at.Sub(from)/(24*time.Hour)), n, float64(n)/time.Since(start).Seconds())
		}
	}
	flush()
	b.Logf("loaded %d samples in %s", n, time.Since(start).Round(time.Second))
	return n
}

func benchReport(b *testing.B, cfg *config.Config, st accounting.Store, desc string) {
	ctx := context.Background()
	out := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r, err := Build(ctx, Input{Config: cfg, Store: st, StoreDesc: desc, Period: benchMonth, Generated: time.Unix(0, 0).UTC(),
			Progress: func(s string) { b.Logf("%6.1fs %s", time.Since(start).Seconds(), s) }})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := WriteFiles(out, r, i18n.Danish, ""); err != nil {
			b.Fatal(err)
		}
		b.Logf("report of %d meters: %.1f s, %v kWh", len(cfg.Devices), time.Since(start).Seconds(), r.Summary.Total.EnergyKWh)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "MiB-sys")
	if kb := peakRSSKiB(); kb > 0 {
		b.ReportMetric(float64(kb)/1024, "MiB-peak-rss") // of the whole test process, loading included
	}
}

// peakRSSKiB is the process's peak resident set (VmHWM, Linux), or 0.
func peakRSSKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func BenchmarkReportSQLite(b *testing.B) {
	meters, days := benchScale(b)
	dir := filepath.Join(b.TempDir(), "data")
	cfg := benchConfig(b, meters, "storage: {data_dir: "+dir+"}\n")
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchLoad(b, cfg, st, days)
	benchReport(b, cfg, st, "embedded SQLite (bench)")
}

// BenchmarkReportSQLiteMaterialized is the embedded store as the service
// leaves it: the month's raw samples are kept (retention_raw), and Compact,
// run every hour, has materialized their hourly aggregates. Materializing
// the loaded month at once is set-up (timed and logged, not the figure).
func BenchmarkReportSQLiteMaterialized(b *testing.B) {
	meters, days := benchScale(b)
	dir := filepath.Join(b.TempDir(), "data")
	cfg := benchConfig(b, meters, "storage: {data_dir: "+dir+"}\n")
	// A week after the month: every hour of it ended, none beyond the
	// raw retention.
	now := benchMonth.To.Add(7 * 24 * time.Hour)
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dir, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchLoad(b, cfg, st, days)
	start := time.Now()
	if err := st.Materialize(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("materialized %d days in %s (the service does it an hour at a time)", days, time.Since(start).Round(time.Second))
	benchReport(b, cfg, st, "embedded SQLite, materialized (bench)")
}

// BenchmarkReportSQLiteHourly is the embedded store once Compact has
// rolled the month up into hourly aggregates (after storage.sqlite.
// retention_raw): the same minute samples, 60 per meter-hour, loaded as
// the rollups they become.
func BenchmarkReportSQLiteHourly(b *testing.B) {
	meters, days := benchScale(b)
	dir := filepath.Join(b.TempDir(), "data")
	cfg := benchConfig(b, meters, "storage: {data_dir: "+dir+"}\n")
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	from := benchMonth.From
	to := from.Add(time.Duration(days) * 24 * time.Hour)
	var rows []store.Hourly
	n := 0
	for i, d := range cfg.Devices {
		watts := float64(200 + (i*37)%800)
		for h := from; h.Before(to); h = h.Add(time.Hour) {
			r := store.Hourly{Series: sample.Series{Measurement: sample.Power, Site: d.Site, Room: d.Room, Rack: d.Rack,
				Device: d.Name, Class: "pdu", Meter: "total", Source: "snmp"}, Hour: h, PowerSamples: 60, PowerMeanW: watts}
			if i%4 != 3 {
				m0 := h.Sub(from).Minutes()
				r.CounterSamples = 60
				r.CounterFirstKWh, r.CounterFirstAt = 1000+float64(i)+watts*m0/60_000, h
				r.CounterLastKWh, r.CounterLastAt = 1000+float64(i)+watts*(m0+59)/60_000, h.Add(59*time.Minute)
			}
			rows = append(rows, r)
			if len(rows) == 100_000 {
				if err := st.WriteHourly(context.Background(), rows); err != nil {
					b.Fatal(err)
				}
				n += len(rows)
				rows = rows[:0]
			}
		}
	}
	if err := st.WriteHourly(context.Background(), rows); err != nil {
		b.Fatal(err)
	}
	n += len(rows)
	b.Logf("loaded %d hourly rollups (%d minute samples) in %s", n, n*60, time.Since(start).Round(time.Second))
	benchReport(b, cfg, st, "embedded SQLite, hourly rollups (bench)")
}

// BenchmarkReportInflux reads from a real influxd that testenv starts and
// the benchmark loads, as the service leaves it: with the month's hourly
// rollups (internal/store/influx/rollup.go; making them is set-up, timed
// and logged apart: the service makes each hour's a few minutes after it
// ends). ECOMETER_BENCH_INFLUX=http://127.0.0.1:PORT uses a running one
// (bucket ecometer/autogen) as it is, already loaded with the benchmark's
// samples (loading a month of 5,000 meters takes most of an hour), so that
// reports can be timed again and again; ECOMETER_BENCH_LOAD=1 loads that
// one first.
func BenchmarkReportInflux(b *testing.B) { benchInflux(b, false) }

// BenchmarkReportInfluxRaw is BenchmarkReportInflux from the raw points
// only (influx.Options.RawHourly): what a month costs without rollups.
func BenchmarkReportInfluxRaw(b *testing.B) { benchInflux(b, true) }

func benchInflux(b *testing.B, raw bool) {
	meters, days := benchScale(b)
	url, bucket := os.Getenv("ECOMETER_BENCH_INFLUX"), "ecometer/autogen"
	load := url == "" || os.Getenv("ECOMETER_BENCH_LOAD") == "1"
	if url == "" {
		srv := testenv.Influx(b)
		url, bucket = srv.URL, srv.Bucket
	}
	st, err := influx.New(influx.Options{URL: url, Bucket: bucket, Timeout: time.Hour, RawHourly: raw})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg := benchConfig(b, meters, "storage: {data_dir: "+b.TempDir()+", influxdb: {url: "+url+", bucket: "+bucket+"}}\n")
	if load {
		benchLoad(b, cfg, st, days)
	}
	desc := "InfluxDB, raw points (bench)"
	if !raw {
		desc = "InfluxDB, hourly rollups (bench)"
		start := time.Now()
		res, err := st.Materialize(context.Background(), benchMonth.From, benchMonth.To, func(done, total int) {
			if done%168 == 0 || done == total {
				b.Logf("rollups: %d of %d hours, %.1f s", done, total, time.Since(start).Seconds())
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		if res.Hours > 0 {
			b.Logf("rollups of %d hours (%d meter-hours) made in %.1f s: %.2f s per hour", res.Hours, res.Meters,
				time.Since(start).Seconds(), time.Since(start).Seconds()/float64(res.Hours))
		}
	}
	benchReport(b, cfg, st, desc)
}
