package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/sample"
)

// Bench model data: what a year of collection leaves behind after Compact.
var (
	// modelStart is the first hour of the data.
	modelStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// modelInterval is the meters' poll interval: 60 samples a full hour.
	modelInterval = time.Minute
)

const (
	modelMetersPerSite = 250     // 5,000 meters: 20 sites
	modelChunk         = 100_000 // rollup rows per WriteHourly call
)

// ModelOptions configure Model.
type ModelOptions struct {
	Meters, Days int
	DataDir      string // "": a temporary directory, removed at the end
	Reuse        bool   // measure what an earlier run loaded into DataDir
	CPUProfile   string
	Progress     io.Writer // nil: quiet
}

// ModelResult is what Model measured.
type ModelResult struct {
	Meters  int    `json:"meters"`
	Days    int    `json:"days"`
	Sites   int    `json:"sites"`
	DataDir string `json:"data_dir"`
	DBBytes int64  `json:"database_bytes"`
	// Load is the set-up, absent with --reuse.
	Load *ModelLoad `json:"load,omitempty"`

	MeterHours     int64   `json:"meter_hours_read"`
	EnergyHours    int64   `json:"hourly_energies"`
	CounterHours   int64   `json:"hours_by_counter"`
	IntegratedHrs  int64   `json:"hours_integrated"`
	SiteHours      int     `json:"site_hours_with_energy"`
	EnergyKWh      float64 `json:"energy_kwh"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	CPUSeconds     float64 `json:"cpu_seconds"`
	RowsPerSecond  float64 `json:"meter_hours_per_second"`
	GOMAXPROCS     int     `json:"gomaxprocs"`
	// PeakRSSMiB is the process's high-water mark at the end (the load
	// included when it ran in this process); LoadRSSMiB the one after the
	// load, before the measurement.
	PeakRSSMiB     float64 `json:"peak_rss_mib"`
	LoadRSSMiB     float64 `json:"peak_rss_mib_after_load,omitempty"`
	PeakHeapMiB    float64 `json:"peak_heap_inuse_mib"`
	AllocatedGiB   float64 `json:"heap_allocated_gib"`
	GCCycles       uint32  `json:"gc_cycles"`
	GoalSeconds    float64 `json:"goal_seconds"`
	GoalRSSMiB     float64 `json:"goal_peak_rss_mib"`
	GoalMet        bool    `json:"goal_met"`
	CPUProfileFile string  `json:"cpu_profile,omitempty"`
}

// ModelLoad is the set-up: rows written and how fast.
type ModelLoad struct {
	Rows          int64   `json:"rows"`
	Seconds       float64 `json:"seconds"`
	RowsPerSecond float64 `json:"rows_per_second"`
}

// ModelGoalSeconds and ModelGoalRSSMiB are the goal for 5,000 meters × a
// year: the time and peak RSS the accounting of a year may take.
const (
	ModelGoalSeconds = 30
	ModelGoalRSSMiB  = 2048
)

// Model loads (unless opts.Reuse) and measures the model bench: the figures
// of a year of hourly data for opts.Meters meters through the accounting.
// Bad options are a *UsageError.
func Model(ctx context.Context, opts ModelOptions) (ModelResult, error) {
	if opts.Meters < 1 || opts.Days < 1 {
		return ModelResult{}, usageErrorf("--meters and --days must be at least 1")
	}
	if opts.Reuse && opts.DataDir == "" {
		return ModelResult{}, usageErrorf("--reuse needs --data-dir (the directory an earlier run loaded)")
	}
	dir := opts.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ecometer-bench-model-")
		if err != nil {
			return ModelResult{}, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	dbFile := filepath.Join(dir, sqlite.FileName)
	_, statErr := os.Stat(dbFile)
	switch {
	case opts.Reuse && statErr != nil:
		return ModelResult{}, usageErrorf("--reuse: no store in %s (%v)", dir, statErr)
	case !opts.Reuse && statErr == nil:
		return ModelResult{}, usageErrorf("%s already holds a store: choose an empty --data-dir, or pass --reuse to measure what an earlier run loaded there", dir)
	}
	st, err := sqlite.Open(ctx, sqlite.Options{Path: dir})
	if err != nil {
		return ModelResult{}, err
	}
	defer st.Close()

	gen := newModelData(opts.Meters, opts.Days)
	res := ModelResult{Meters: opts.Meters, Days: opts.Days, Sites: gen.sites, DataDir: dir,
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoalSeconds: ModelGoalSeconds, GoalRSSMiB: ModelGoalRSSMiB}
	if !opts.Reuse {
		load, err := gen.load(ctx, st, opts.Progress)
		if err != nil {
			return ModelResult{}, err
		}
		res.Load = &load
		if u, err := ReadUsage(); err == nil {
			res.LoadRSSMiB = float64(u.MaxRSS) / (1 << 20)
		}
	}
	if fi, err := os.Stat(dbFile); err == nil {
		res.DBBytes = fi.Size()
	}
	modelStatus(opts.Progress, "measuring: reading %d meters' hours back through the model", opts.Meters)
	if err := modelMeasure(ctx, st, gen, opts.CPUProfile, &res); err != nil {
		return ModelResult{}, err
	}
	modelStatus(opts.Progress, "")
	if want := gen.rows(); res.MeterHours != want {
		return ModelResult{}, fmt.Errorf("bench model: read %d meter-hours back, the store should hold %d (was %s loaded with other --meters or --days?)",
			res.MeterHours, want, dir)
	}
	res.CPUProfileFile = opts.CPUProfile
	res.GoalMet = res.ElapsedSeconds <= ModelGoalSeconds && res.PeakRSSMiB <= ModelGoalRSSMiB
	return res, nil
}

// modelStatus rewrites a one-line progress message; "" clears it.
func modelStatus(w io.Writer, format string, args ...any) {
	if w == nil {
		return
	}
	fmt.Fprintf(w, "\r\033[K"+format, args...)
}

// modelData generates the rollups deterministically, so that a --reuse
// run knows what the store must hold.
type modelData struct {
	meters, hours, sites int
}

func newModelData(meters, days int) modelData {
	return modelData{meters: meters, hours: 24 * days,
		sites: (meters + modelMetersPerSite - 1) / modelMetersPerSite}
}

func (g modelData) series(m int) sample.Series {
	return sample.Series{Measurement: sample.Power, Site: fmt.Sprintf("site-%03d", m%g.sites),
		Room: "r1", Rack: fmt.Sprintf("rack-%05d", m), Device: fmt.Sprintf("pdu-%05d", m),
		Class: "pdu", Meter: "total", Source: "snmp"}
}

// missing reports whether meter m has no data in hour h (about 1 in 1,000).
func (g modelData) missing(m, h int) bool { return (h+37*m)%1000 == 999 }

// rows is the number of meter-hours the data holds.
func (g modelData) rows() int64 {
	var n int64
	for m := range g.meters {
		for h := range g.hours {
			if !g.missing(m, h) {
				n++
			}
		}
	}
	return n
}

// meter appends meter m's rollups to out.
func (g modelData) meter(m int, out []store.Hourly) []store.Hourly {
	ser := g.series(m)
	counter := m%4 != 3
	base := 150 + float64(m%50)*10 // W
	kwh := float64(m%1000) * 10
	for h := range g.hours {
		if g.missing(m, h) {
			continue
		}
		hour := modelStart.Add(time.Duration(h) * time.Hour)
		n := 60
		if (13*h+m)%97 == 0 {
			n = 30 // a poll outage: half the hour
		}
		w := base * (1 + 0.2*math.Sin(2*math.Pi*float64(h%24)/24) + 0.01*float64((h*7+m)%5))
		r := store.Hourly{Series: ser, Hour: hour, PowerSamples: n, PowerMeanW: w}
		if counter {
			step := w / 1000 / 60 // kWh per minute
			last := hour.Add(time.Duration(n-1) * modelInterval)
			r.CounterSamples, r.CounterFirstAt, r.CounterLastAt = n, hour, last
			r.CounterFirstKWh, r.CounterLastKWh = kwh+step, kwh+float64(n)*step
		}
		kwh += w / 1000
		out = append(out, r)
	}
	return out
}

// load writes the rollups in chunks of about modelChunk rows.
func (g modelData) load(ctx context.Context, st *sqlite.Store, progress io.Writer) (ModelLoad, error) {
	start := time.Now()
	var res ModelLoad
	buf := make([]store.Hourly, 0, modelChunk+g.hours)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := st.WriteHourly(ctx, buf); err != nil {
			return fmt.Errorf("bench model: load: %w", err)
		}
		res.Rows += int64(len(buf))
		buf = buf[:0]
		return nil
	}
	for m := range g.meters {
		buf = g.meter(m, buf)
		if len(buf) >= modelChunk {
			if err := flush(); err != nil {
				return res, err
			}
			modelStatus(progress, "loading (set-up): %d of %d meters, %d rows, %.0f s", m+1, g.meters, res.Rows,
				time.Since(start).Seconds())
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.RowsPerSecond = float64(res.Rows) / res.Seconds
	}
	return res, nil
}

// modelMeasure reads every meter-hour back, runs each meter through
// the model and totals energy per site and hour, filling res.
func modelMeasure(ctx context.Context, st *sqlite.Store, g modelData, cpuProfile string, res *ModelResult) error {
	// Per site, kWh per hour of the period: the sums the carbon accounting
	// multiplies by the hourly intensity.
	perSite := map[string][]float64{}
	var (
		cur    sample.Series
		ref    energy.MeterRef
		rows   []energy.HourlyAggregate // the current meter's hours; reused
		method = map[energy.Method]int64{}
		total  float64
	)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		out, err := energy.HourlyFromAggregates(rows, modelInterval, 0)
		if err != nil {
			return err
		}
		site := perSite[ref.Site]
		if site == nil {
			site = make([]float64, g.hours)
			perSite[ref.Site] = site
		}
		for _, h := range out.Hours {
			i := int(h.Hour.Sub(modelStart) / time.Hour)
			if i < 0 || i >= len(site) {
				return fmt.Errorf("meter %s: hour %s outside the data", ref, h.Hour)
			}
			site[i] += float64(h.Energy)
			total += float64(h.Energy)
			method[h.Method]++
		}
		res.EnergyHours += int64(len(out.Hours))
		rows = rows[:0]
		return nil
	}

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	// Heap high-water mark, sampled.
	var peakHeap uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()

	u0, err := ReadUsage()
	if err != nil {
		return err
	}
	start := time.Now()
	q := store.Query{From: modelStart, To: modelStart.Add(time.Duration(g.hours) * time.Hour)}
	err = st.HourlyEach(ctx, q, func(h store.Hourly) error {
		res.MeterHours++
		if h.Series != cur {
			if err := flush(); err != nil {
				return err
			}
			cur = h.Series
			ref = energy.MeterRef{Site: h.Series.Site, Device: h.Series.Device, Meter: h.Series.Meter}
		}
		rows = append(rows, accounting.Aggregate(ref, h))
		return nil
	})
	if err == nil {
		err = flush()
	}
	elapsed := time.Since(start)
	u1, uerr := ReadUsage()
	close(stop)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("bench model: measure: %w", err)
	}
	if uerr != nil {
		return uerr
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	for _, site := range perSite {
		for _, e := range site {
			if e > 0 {
				res.SiteHours++
			}
		}
	}
	res.EnergyKWh = total
	res.CounterHours, res.IntegratedHrs = method[energy.Counter], method[energy.Integrated]
	res.ElapsedSeconds = elapsed.Seconds()
	res.CPUSeconds = (u1.CPU - u0.CPU).Seconds()
	if res.ElapsedSeconds > 0 {
		res.RowsPerSecond = float64(res.MeterHours) / res.ElapsedSeconds
	}
	res.PeakRSSMiB = float64(u1.MaxRSS) / (1 << 20)
	res.PeakHeapMiB = float64(max(peakHeap, after.HeapInuse)) / (1 << 20)
	res.AllocatedGiB = float64(after.TotalAlloc-before.TotalAlloc) / (1 << 30)
	res.GCCycles = after.NumGC - before.NumGC
	return nil
}
