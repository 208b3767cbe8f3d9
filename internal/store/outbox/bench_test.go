package outbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/influx"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

const benchBatch = 5000

// benchSamples returns batch k of 5,000 power samples with four fields (250
// meters × 20 polls), unique across k.
func benchSamples(k int) []sample.Sample {
	out := make([]sample.Sample, 0, benchBatch)
	for i := 0; i < benchBatch; i++ {
		n := k*benchBatch + i
		out = append(out, sample.Sample{
			Series: sample.Series{Measurement: sample.Power, Site: "bench", Room: "r1", Rack: fmt.Sprintf("r%02d", n%250/10),
				Device: fmt.Sprintf("pdu-%03d", n%250), Class: "pdu", Meter: "total", Source: "snmp"},
			Time: time.Unix(1_700_000_000+int64(n/250)*60, 0).UTC(),
			Fields: []sample.Field{sample.F("power_w", float64(n%5000)), sample.F("energy_kwh", float64(n)/60),
				sample.F("voltage_v", 230), sample.F("current_a", 4.2)},
		})
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// BenchmarkCommit measures the local, fsynced commit alone (what a poll waits for).
func BenchmarkCommit(b *testing.B) {
	ctx := context.Background()
	ob, err := Open(ctx, nil, Options{Dir: b.TempDir(), DiskBudget: 1 << 40, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer ob.Close()
	batches := make([][]sample.Sample, 8)
	for i := range batches {
		batches[i] = benchSamples(i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ob.Write(ctx, batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkInflux compares writing straight into InfluxDB with writing
// through the outbox (commit, forward, acknowledge, delete), against a real
// influxd: the difference is the outbox's overhead.
func BenchmarkInflux(b *testing.B) {
	srv := testenv.Influx(b)
	ctx := context.Background()
	down, err := influx.New(influx.Options{URL: srv.URL, Bucket: srv.Bucket})
	if err != nil {
		b.Fatal(err)
	}
	defer down.Close()
	k := 0
	run := func(b *testing.B, w store.Writer, after func() error) {
		srv0, cli0 := testenv.ProcessCPU(srv.PID()), testenv.ProcessCPU(os.Getpid())
		for i := 0; i < b.N; i++ {
			batch := benchSamples(k)
			k++
			if err := w.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
			if err := after(); err != nil {
				b.Fatal(err)
			}
		}
		points := float64(b.N * benchBatch)
		b.ReportMetric(points/b.Elapsed().Seconds(), "points/s")
		// The client's cost per point (ecometer: encode, and for the
		// outbox commit, read back, forward, delete) next to the server's.
		if srv1, cli1 := testenv.ProcessCPU(srv.PID()), testenv.ProcessCPU(os.Getpid()); srv0 >= 0 && srv1 >= 0 {
			b.ReportMetric((cli1-cli0).Seconds()*1e6/points, "client-cpu-µs/point")
			b.ReportMetric((srv1-srv0).Seconds()*1e6/points, "influxd-cpu-µs/point")
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, down, func() error { return nil }) })
	b.Run("outbox", func(b *testing.B) {
		ob, err := Open(ctx, down, Options{Dir: b.TempDir(), DiskBudget: 1 << 40, Logger: quiet()})
		if err != nil {
			b.Fatal(err)
		}
		defer ob.Close()
		run(b, ob, func() error { return ob.Flush(ctx) })
	})
}

// BenchmarkQueued100k reports what 100,000 queued samples cost while the
// remote store is away: bytes on disk and Go heap in use.
func BenchmarkQueued100k(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		ob, err := Open(ctx, nil, Options{Dir: b.TempDir(), DiskBudget: 1 << 40, Logger: quiet()})
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for k := 0; k < 100_000/benchBatch; k++ {
			if err := ob.Write(ctx, benchSamples(k)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(ob.Stats().Bytes), "disk-bytes/100k")
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse)), "heap-bytes/100k")
		ob.Close()
	}
}
