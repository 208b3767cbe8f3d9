package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/bench"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/sample"
)

// Bench model data: what a year of collection leaves behind after Compact.
var (
	// benchModelStart is the first hour of the data.
	benchModelStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// benchModelInterval is the meters' poll interval: 60 samples a full hour.
	benchModelInterval = time.Minute
)

const (
	benchModelMetersPerSite = 250     // 5,000 meters: 20 sites
	benchModelChunk         = 100_000 // rollup rows per WriteHourly call
)

func newBenchModelCommand() *cli.Command {
	return &cli.Command{
		Name:      "model",
		Usage:     "time a year of hourly data for N meters through the energy model, from the embedded store",
		UsageText: "ecometer bench model [--meters N] [--days D] [--data-dir DIR [--reuse]] [--cpuprofile FILE] [--json]",
		Description: "Loads D days of hourly rollups for N meters into an embedded SQLite store, as\n" +
			"Compact leaves a year of collection behind (set-up, timed apart), then measures what\n" +
			"the accounting does with it: read every meter-hour back (HourlyEach, streamed),\n" +
			"run each meter's hours through energy.HourlyFromAggregates, one meter at a time,\n" +
			"and total the energy per site and hour. Reports elapsed time, CPU, peak RSS\n" +
			"(getrusage; the whole process, so the load is included unless --reuse) and heap.\n" +
			"Three of four meters report a counter and power, the fourth power only; about\n" +
			"one hour in 1,000 is missing and one in 97 has half its samples.\n" +
			"Without --data-dir the store goes to a temporary directory that is removed at the\n" +
			"end; a --data-dir is kept, and --reuse measures a store an earlier run loaded there.\n\n" +
			"Examples:\n" +
			"   ecometer bench model --meters 5000 --days 365 --data-dir /tmp/bench-model\n" +
			"   ecometer bench model --meters 5000 --days 365 --data-dir /tmp/bench-model --reuse --json",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "meters", Usage: "number of meters `N`", Value: 5000},
			&cli.IntFlag{Name: "days", Usage: "days `D` of hourly data per meter", Value: 365},
			&cli.StringFlag{Name: "data-dir", Usage: "`DIR` for the store, kept afterwards (default: a temporary directory, removed)"},
			&cli.BoolFlag{Name: "reuse", Usage: "measure the store an earlier run loaded into --data-dir (same --meters and --days)"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the measurement to `FILE`"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("%s: unexpected argument %q (usage: %s)", commandPath(cmd), cmd.Args().First(), cmd.UsageText)
			}
			s := streamsOf(cmd)
			return runBenchModel(ctx, benchModelOptions{
				Meters: cmd.Int("meters"), Days: cmd.Int("days"), DataDir: cmd.String("data-dir"),
				Reuse: cmd.Bool("reuse"), CPUProfile: cmd.String("cpuprofile"), JSON: cmd.Bool("json"),
				Progress: progressTo(s.ErrOut),
			}, s)
		},
	}
}

type benchModelOptions struct {
	Meters, Days int
	DataDir      string // "": a temporary directory, removed at the end
	Reuse        bool   // measure what an earlier run loaded into DataDir
	CPUProfile   string
	JSON         bool
	Progress     io.Writer // nil: quiet
}

type benchModelResult struct {
	Meters  int    `json:"meters"`
	Days    int    `json:"days"`
	Sites   int    `json:"sites"`
	DataDir string `json:"data_dir"`
	DBBytes int64  `json:"database_bytes"`
	// Load is the set-up, absent with --reuse.
	Load *benchModelLoad `json:"load,omitempty"`

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

type benchModelLoad struct {
	Rows          int64   `json:"rows"`
	Seconds       float64 `json:"seconds"`
	RowsPerSecond float64 `json:"rows_per_second"`
}

// The goal for 5,000 meters × a year.
const (
	benchModelGoalSeconds = 30
	benchModelGoalRSSMiB  = 2048
)

func runBenchModel(ctx context.Context, opts benchModelOptions, s streams) error {
	if opts.Meters < 1 || opts.Days < 1 {
		return usageErrorf("bench model: --meters and --days must be at least 1")
	}
	if opts.Reuse && opts.DataDir == "" {
		return usageErrorf("bench model: --reuse needs --data-dir (the directory an earlier run loaded)")
	}
	dir := opts.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ecometer-bench-model-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	dbFile := filepath.Join(dir, sqlite.FileName)
	_, statErr := os.Stat(dbFile)
	switch {
	case opts.Reuse && statErr != nil:
		return usageErrorf("bench model: --reuse: no store in %s (%v)", dir, statErr)
	case !opts.Reuse && statErr == nil:
		return usageErrorf("bench model: %s already holds a store: choose an empty --data-dir, or pass --reuse to measure what an earlier run loaded there", dir)
	}
	st, err := sqlite.Open(ctx, sqlite.Options{Path: dir})
	if err != nil {
		return err
	}
	defer st.Close()

	gen := newBenchModelData(opts.Meters, opts.Days)
	res := benchModelResult{Meters: opts.Meters, Days: opts.Days, Sites: gen.sites, DataDir: dir,
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoalSeconds: benchModelGoalSeconds, GoalRSSMiB: benchModelGoalRSSMiB}
	if !opts.Reuse {
		load, err := gen.load(ctx, st, opts.Progress)
		if err != nil {
			return err
		}
		res.Load = &load
		if u, err := bench.ReadUsage(); err == nil {
			res.LoadRSSMiB = float64(u.MaxRSS) / (1 << 20)
		}
	}
	if fi, err := os.Stat(dbFile); err == nil {
		res.DBBytes = fi.Size()
	}
	benchModelStatus(opts.Progress, "measuring: reading %d meters' hours back through the model", opts.Meters)
	if err := benchModelMeasure(ctx, st, gen, opts.CPUProfile, &res); err != nil {
		return err
	}
	benchModelStatus(opts.Progress, "")
	if want := gen.rows(); res.MeterHours != want {
		return fmt.Errorf("bench model: read %d meter-hours back, the store should hold %d (was %s loaded with other --meters or --days?)",
			res.MeterHours, want, dir)
	}
	res.CPUProfileFile = opts.CPUProfile
	res.GoalMet = res.ElapsedSeconds <= benchModelGoalSeconds && res.PeakRSSMiB <= benchModelGoalRSSMiB
	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return writeBenchModel(s.Out, res)
}

// benchModelStatus rewrites a one-line progress message; "" clears it.
func benchModelStatus(w io.Writer, format string, args ...any) {
	if w == nil {
		return
	}
	fmt.Fprintf(w, "\r\033[K"+format, args...)
}

// benchModelData generates the rollups deterministically, so that a --reuse
// run knows what the store must hold.
type benchModelData struct {
	meters, hours, sites int
}

func newBenchModelData(meters, days int) benchModelData {
	return benchModelData{meters: meters, hours: 24 * days,
		sites: (meters + benchModelMetersPerSite - 1) / benchModelMetersPerSite}
}

func (g benchModelData) series(m int) sample.Series {
	return sample.Series{Measurement: sample.Power, Site: fmt.Sprintf("site-%03d", m%g.sites),
		Room: "r1", Rack: fmt.Sprintf("rack-%05d", m), Device: fmt.Sprintf("pdu-%05d", m),
		Class: "pdu", Meter: "total", Source: "snmp"}
}

// missing reports whether meter m has no data in hour h (about 1 in 1,000).
func (g benchModelData) missing(m, h int) bool { return (h+37*m)%1000 == 999 }

// rows is the number of meter-hours the data holds.
func (g benchModelData) rows() int64 {
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
func (g benchModelData) meter(m int, out []store.Hourly) []store.Hourly {
	ser := g.series(m)
	counter := m%4 != 3
	base := 150 + float64(m%50)*10 // W
	kwh := float64(m%1000) * 10
	for h := range g.hours {
		if g.missing(m, h) {
			continue
		}
		hour := benchModelStart.Add(time.Duration(h) * time.Hour)
		n := 60
		if (13*h+m)%97 == 0 {
			n = 30 // a poll outage: half the hour
		}
		w := base * (1 + 0.2*math.Sin(2*math.Pi*float64(h%24)/24) + 0.01*float64((h*7+m)%5))
		r := store.Hourly{Series: ser, Hour: hour, PowerSamples: n, PowerMeanW: w}
		if counter {
			step := w / 1000 / 60 // kWh per minute
			last := hour.Add(time.Duration(n-1) * benchModelInterval)
			r.CounterSamples, r.CounterFirstAt, r.CounterLastAt = n, hour, last
			r.CounterFirstKWh, r.CounterLastKWh = kwh+step, kwh+float64(n)*step
		}
		kwh += w / 1000
		out = append(out, r)
	}
	return out
}

// load writes the rollups in chunks of about benchModelChunk rows.
func (g benchModelData) load(ctx context.Context, st *sqlite.Store, progress io.Writer) (benchModelLoad, error) {
	start := time.Now()
	var res benchModelLoad
	buf := make([]store.Hourly, 0, benchModelChunk+g.hours)
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
		if len(buf) >= benchModelChunk {
			if err := flush(); err != nil {
				return res, err
			}
			benchModelStatus(progress, "loading (set-up): %d of %d meters, %d rows, %.0f s", m+1, g.meters, res.Rows,
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

// benchModelMeasure reads every meter-hour back, runs each meter through
// the model and totals energy per site and hour, filling res.
func benchModelMeasure(ctx context.Context, st *sqlite.Store, g benchModelData, cpuProfile string, res *benchModelResult) error {
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
		out, err := energy.HourlyFromAggregates(rows, benchModelInterval, 0)
		if err != nil {
			return err
		}
		site := perSite[ref.Site]
		if site == nil {
			site = make([]float64, g.hours)
			perSite[ref.Site] = site
		}
		for _, h := range out.Hours {
			i := int(h.Hour.Sub(benchModelStart) / time.Hour)
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

	u0, err := bench.ReadUsage()
	if err != nil {
		return err
	}
	start := time.Now()
	q := store.Query{From: benchModelStart, To: benchModelStart.Add(time.Duration(g.hours) * time.Hour)}
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
	u1, uerr := bench.ReadUsage()
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

func writeBenchModel(w io.Writer, r benchModelResult) error {
	fmt.Fprintf(w, "ecometer bench model: %d meters × %d days of hourly rollups, %d sites, embedded SQLite in %s (%.2f GiB)\n",
		r.Meters, r.Days, r.Sites, r.DataDir, float64(r.DBBytes)/(1<<30))
	if r.Load != nil {
		fmt.Fprintf(w, "load (set-up, not the figure): %d rows in %.1f s (%.0f rows/s, WriteHourly)\n",
			r.Load.Rows, r.Load.Seconds, r.Load.RowsPerSecond)
	} else {
		fmt.Fprintf(w, "load: reused the store an earlier run loaded\n")
	}
	fmt.Fprintf(w, "\nmeasured: every meter-hour read back (HourlyEach), each meter through energy.HourlyFromAggregates,\nenergy totalled per site and hour; GOMAXPROCS %d\n\n", r.GOMAXPROCS)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  meter-hours read\t%d\n", r.MeterHours)
	fmt.Fprintf(tw, "  hourly energies\t%d (counter %d, integrated %d)\n", r.EnergyHours, r.CounterHours, r.IntegratedHrs)
	fmt.Fprintf(tw, "  site-hours\t%d with energy, %.1f MWh in all\n", r.SiteHours, r.EnergyKWh/1000)
	fmt.Fprintf(tw, "  elapsed\t%.1f s  (%.2f M meter-hours/s; goal ≤ %.0f s)\n", r.ElapsedSeconds, r.RowsPerSecond/1e6, r.GoalSeconds)
	fmt.Fprintf(tw, "  CPU\t%.1f s user+sys\n", r.CPUSeconds)
	rss := fmt.Sprintf("%.0f MiB  (goal ≤ %.0f MiB)", r.PeakRSSMiB, r.GoalRSSMiB)
	if r.Load != nil {
		rss += fmt.Sprintf("; process high-water mark, the load included (%.0f MiB after it)", r.LoadRSSMiB)
	}
	fmt.Fprintf(tw, "  peak RSS\t%s\n", rss)
	fmt.Fprintf(tw, "  heap\t%.0f MiB peak in use, %.2f GiB allocated, %d GC cycles\n", r.PeakHeapMiB, r.AllocatedGiB, r.GCCycles)
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "met"
	if !r.GoalMet {
		verdict = "NOT met"
	}
	fmt.Fprintf(w, "\ngoal (≤ %.0f s, ≤ %.0f MiB): %s\n", r.GoalSeconds, r.GoalRSSMiB, verdict)
	if r.CPUProfileFile != "" {
		fmt.Fprintf(w, "CPU profile of the measurement: %s\n", r.CPUProfileFile)
	}
	return nil
}
