package influx

import (
	"bytes"
	"context"
	influxwrite "github.com/influxdata/influxdb-client-go/v2/api/write"
	lp "github.com/influxdata/line-protocol"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

// benchBatches returns n batches of size power samples with 4 fields each:
// 1000 meters (50 PDUs × 20 outlets) polled every 10 s, each batch the next
// polls.
func benchBatches(n, size int) [][]sample.Sample {
	const meters = 1000
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([][]sample.Sample, n)
	i := 0
	for bi := range out {
		batch := make([]sample.Sample, size)
		for j := range batch {
			m := i % meters
			poll := i / meters
			batch[j] = sample.Sample{
				Series: sample.Series{Measurement: sample.Power, Site: "odense-dc1", Room: "r" + strconv.Itoa(m/500),
					Rack: "a" + strconv.Itoa(m/20), Device: "pdu-" + strconv.Itoa(m/20), Class: "pdu",
					Meter: "outlet/" + strconv.Itoa(m%20), Source: "snmp"},
				Time: start.Add(time.Duration(poll) * 10 * time.Second),
				Fields: []sample.Field{
					// Values as meters report them: watts to a tenth, the
					// counter to a watt-hour.
					sample.F("power_w", float64(1000+i%977)/10), sample.F("energy_kwh", float64(1234500+poll)/1000),
					sample.F("voltage_v", 230.1), sample.F("current_a", 0.43),
				},
			}
			i++
		}
		out[bi] = batch
	}
	return out
}

// BenchmarkWrite measures end-to-end write throughput against a real influxd
// on the same machine:
//
//	go test -run '^$' -bench 'Write$' -benchtime 40x -count 3 ./internal/store/influx
//
// Besides points/s it reports the CPU both processes spend per point, which
// does not depend on what else runs on the machine. Measured on the shared
// 2-core dev VM (influxd 1.8.10, 4-field power points, batches of 5000, two
// in flight): 125k–188k points/s depending on other load; influxd ≈ 9–12 µs
// CPU per point, our side ≈ 1.2–1.8 µs. influxd's ingest is the limit: an
// idle 2-core machine tops out near 2 cores / ~10.5 µs ≈ 190k points/s.
// Our side alone (BenchmarkWriteNullServer) does ≈ 1.1M points/s; the client
// library's Point path encodes at ≈ 270k points/s vs ≈ 2M for appendLine
// (BenchmarkEncodePoint vs BenchmarkEncode), and its default-level gzip took
// half our CPU (≈ 2.9 µs/point vs 1.9 with BestSpeed).
func BenchmarkWrite(b *testing.B) {
	srv := testenv.Influx(b)
	s, err := New(Options{URL: srv.URL, Bucket: srv.Bucket})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const size = DefaultBatchSize
	const calls = 4 // each Write gets 4 batches, so two are in flight
	batch := benchBatches(1, size*calls)[0]
	step := batch[len(batch)-1].Time.Sub(batch[0].Time) + 10*time.Second
	ctx := context.Background()
	// Warm up: create the series.
	if err := s.Write(ctx, batch); err != nil {
		b.Fatal(err)
	}
	srvCPU0, cliCPU0 := procCPU(srv.PID()), procCPU(os.Getpid())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j].Time = batch[j].Time.Add(step)
		}
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	points := float64(b.N * size * calls)
	b.ReportMetric(points/b.Elapsed().Seconds(), "points/s")
	// CPU per point, independent of what else runs on the machine: the
	// throughput an idle machine reaches is about cores / (server + client).
	if srvCPU1, cliCPU1 := procCPU(srv.PID()), procCPU(os.Getpid()); srvCPU0 >= 0 && srvCPU1 >= 0 {
		b.ReportMetric((srvCPU1-srvCPU0).Seconds()*1e6/points, "influxd-cpu-µs/point")
		b.ReportMetric((cliCPU1-cliCPU0).Seconds()*1e6/points, "client-cpu-µs/point")
	}
}

// procCPU returns the user+system CPU time of a process from /proc (Linux),
// or -1.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// Fields after the command name (which is in parentheses).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// BenchmarkEncode measures line protocol encoding alone.
func BenchmarkEncode(b *testing.B) {
	batch := benchBatches(1, DefaultBatchSize)[0]
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := range batch {
			buf = appendLine(buf, &batch[i], true)
		}
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkWriteNullServer measures the client side alone (encoding, gzip,
// HTTP) against a server that discards the body.
func BenchmarkWriteNullServer(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s, err := New(Options{URL: srv.URL, Bucket: "db/rp"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := benchBatches(1, 4*DefaultBatchSize)[0]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkEncodePoint is the client library's way, for comparison with
// BenchmarkEncode: write.NewPoint per sample, encoded by line-protocol's
// Encoder (what WriteAPIBlocking.WritePoint does).
func BenchmarkEncodePoint(b *testing.B) {
	batch := benchBatches(1, DefaultBatchSize)[0]
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		enc := lp.NewEncoder(&buf)
		enc.SetPrecision(time.Second)
		enc.FailOnFieldErr(true)
		for i := range batch {
			x := &batch[i]
			tags := make(map[string]string, 7)
			for _, t := range x.TagPairs() {
				tags[t[0]] = t[1]
			}
			fields := make(map[string]any, len(x.Fields))
			for _, f := range x.Fields {
				fields[f.Name] = f.Num
			}
			if _, err := enc.Encode(influxwrite.NewPoint(x.Measurement, tags, fields, x.Time)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "points/s")
}
