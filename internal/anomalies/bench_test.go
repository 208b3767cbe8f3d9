//go:build unix

package anomalies

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
)

// The benchmarks stream ECOMETER_BENCH_METERS meters (default 5,000) × 9
// weeks of hourly rollups (8 weeks of baseline and the week checked) from
// the embedded SQLite store through Detect and FindIdle. Loading the store
// is set-up, not timed; set ECOMETER_BENCH_DIR to keep it and, on a later
// run, to reuse it, so that the peak RSS reported is the pass's alone:
//
//	ECOMETER_BENCH_DIR=/tmp/anom go test -run - -bench Detect -benchtime 1x ./internal/anomalies/   # loads, then measures
//	ECOMETER_BENCH_DIR=/tmp/anom go test -run - -bench . -benchtime 1x ./internal/anomalies/         # reuses it
var benchTo = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

const benchWeeks = 9

func benchMeters(b *testing.B) int {
	n := 5000
	if s := os.Getenv("ECOMETER_BENCH_METERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("ECOMETER_BENCH_METERS=%q: want a positive number", s)
		}
		n = v
	}
	return n
}

// benchStore opens the benchmark's store, loading it unless a reused
// ECOMETER_BENCH_DIR already holds it.
func benchStore(b *testing.B, meters int) *sqlite.Store {
	dir := os.Getenv("ECOMETER_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else {
		dir = filepath.Join(dir, fmt.Sprintf("m%d", meters))
	}
	_, statErr := os.Stat(filepath.Join(dir, sqlite.FileName))
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if statErr == nil {
		b.Logf("reusing the store in %s", dir)
		return st
	}
	start := benchTo.Add(-benchWeeks * week)
	hours := int(benchTo.Sub(start) / time.Hour)
	g := newGen(b, 7, start, hours)
	t0 := time.Now()
	buf := make([]store.Hourly, 0, 100_000+hours)
	for m := range meters {
		l := g.randomLoad()
		s := powerSeries(fmt.Sprintf("site%02d", m%20), fmt.Sprintf("d%05d", m/4), []string{"pdu", "server", "pdu", "switch"}[m%4],
			[]string{"total", "total", "outlet/1", "poe/Gi1/0/1"}[m%4])
		switch m % 4 {
		case 1:
			s.Device = fmt.Sprintf("s%05d", m)
		case 3:
			s.Device = fmt.Sprintf("w%05d", m/4)
		}
		buf = append(buf, g.hourly(s, l, g.watts(l), -1, nil)...)
		if len(buf) >= 100_000 {
			if err := st.WriteHourly(context.Background(), buf); err != nil {
				b.Fatal(err)
			}
			buf = buf[:0]
		}
	}
	if err := st.WriteHourly(context.Background(), buf); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d meters × %d hours in %.1f s (set-up) into %s", meters, hours, time.Since(t0).Seconds(), dir)
	return st
}

// peakHeap samples the heap in use until stop is called.
func peakHeap() (stop func() uint64) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak }
}

func maxRSS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	kb := float64(ru.Maxrss)
	if runtime.GOOS == "darwin" {
		kb /= 1024
	}
	return kb / 1024
}

func BenchmarkDetect(b *testing.B) {
	meters := benchMeters(b)
	st := benchStore(b, meters)
	cfg := config.DefaultConfig()
	runtime.GC()
	stop := peakHeap()
	b.ResetTimer()
	var rep *Report
	for range b.N {
		var err error
		rep, err = Detect(context.Background(), st, cfg, Options{From: benchTo.Add(-week), To: benchTo})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	heap := stop()
	if rep.Meters != meters {
		b.Fatalf("read %d meters, want %d", rep.Meters, meters)
	}
	perPass := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(meters)/perPass, "meters/s")
	b.ReportMetric(float64(meters*benchWeeks*168)/perPass, "meter-hours/s")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(maxRSS(), "peak-RSS-MiB")
	b.Logf("%d meters, %d with a baseline, %d anomalies in the week", rep.Meters, rep.Scored, len(rep.Anomalies))
}

func BenchmarkFindIdle(b *testing.B) {
	meters := benchMeters(b)
	st := benchStore(b, meters)
	cfg := config.DefaultConfig()
	runtime.GC()
	stop := peakHeap()
	b.ResetTimer()
	var rep *IdleReport
	for range b.N {
		var err error
		// 30 days judged, 33 before them to learn from: the 9 weeks.
		rep, err = FindIdle(context.Background(), st, cfg, IdleOptions{Now: benchTo, LearnDays: 33})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	heap := stop()
	perPass := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(meters)/perPass, "meters/s")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(maxRSS(), "peak-RSS-MiB")
	b.Logf("%d meters, %d candidates", rep.Meters, len(rep.Candidates))
}
