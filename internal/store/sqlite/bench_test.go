package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// powerBatch returns batch i of n power samples with 4 fields: 250 meters,
// each with n/250 consecutive 10 s polls.
func powerBatch(i, n int) []sample.Sample { return meterBatch(i, n, 250) }

// meterBatch returns batch i of n power samples with 4 fields: meters
// meters, each with n/meters consecutive 10 s polls.
func meterBatch(i, n, meters int) []sample.Sample {
	b := make([]sample.Sample, 0, n)
	for j := range n {
		at := t0.Add(time.Duration(i*(n/meters)+j/meters) * 10 * time.Second)
		b = append(b, pw(pdu(fmt.Sprint("pdu", j%meters/10), fmt.Sprint("outlet/", j%10+1)), at,
			sample.F("power_w", float64(j%1000)+0.5), sample.F("energy_kwh", float64(i)+float64(j)/1e4),
			sample.F("voltage_v", 230.1), sample.F("current_a", 1.25)))
	}
	return b
}

// BenchmarkWrite writes batches of 5,000 new power samples with 4 fields each
// (250 meters, 20 polls each) and reports points (samples) per second.
func BenchmarkWrite(b *testing.B) {
	s := openTest(b, Options{})
	ctx := context.Background()
	const n = 5000
	i := 0
	for b.Loop() {
		b.StopTimer()
		batch := powerBatch(i, n)
		i++
		b.StartTimer()
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i*n)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkWritePollRound writes batches of one poll round of 5,000 meters:
// every sample lands in a different place of the (series, time) B-tree.
func BenchmarkWritePollRound(b *testing.B) {
	s := openTest(b, Options{})
	ctx := context.Background()
	const n = 5000
	i := 0
	for b.Loop() {
		b.StopTimer()
		batch := meterBatch(i, n, n)
		i++
		b.StartTimer()
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i*n)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkOverwrite rewrites the same batch of 5,000 power samples: every
// row is an UPSERT conflict.
func BenchmarkOverwrite(b *testing.B) {
	s := openTest(b, Options{})
	ctx := context.Background()
	const n = 5000
	batch := powerBatch(0, n)
	write(b, s, batch...)
	for b.Loop() {
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkHourly aggregates two hours of 10 s power samples of 250 meters
// (180,000 raw rows) into 500 hourly rows.
func BenchmarkHourly(b *testing.B) {
	s := openTest(b, Options{})
	ctx := context.Background()
	for i := range 2 * 360 / 20 {
		write(b, s, powerBatch(i, 5000)...)
	}
	for b.Loop() {
		h, err := s.Hourly(ctx, store.Query{})
		if err != nil {
			b.Fatal(err)
		}
		if len(h) != 500 {
			b.Fatalf("%d hourly rows", len(h))
		}
	}
}

// benchHours returns one meter's rollups for hours [first, first+n): 60
// power samples and 60 counter readings each, as Compact leaves a meter
// polled every minute.
func benchHours(ser sample.Series, first, n int, kwh float64) []store.Hourly {
	out := make([]store.Hourly, n)
	for i := range out {
		hour := t0.Add(time.Duration(first+i) * time.Hour)
		w := 200 + float64((first+i)%24)*10
		out[i] = store.Hourly{Series: ser, Hour: hour, PowerSamples: 60, PowerMeanW: w,
			CounterSamples: 60, CounterFirstKWh: kwh, CounterLastKWh: kwh + w/1000*59/60,
			CounterFirstAt: hour, CounterLastAt: hour.Add(59 * time.Minute)}
		kwh += w / 1000
	}
	return out
}

// BenchmarkWriteHourly loads a week of rollups for 100 meters (16,800
// rows) per call, as a bulk load would, and reports rows per second.
func BenchmarkWriteHourly(b *testing.B) {
	s := openTest(b, Options{})
	ctx := context.Background()
	const meters, hours = 100, 7 * 24
	rows := make([]store.Hourly, 0, meters*hours)
	i := 0
	for b.Loop() {
		b.StopTimer()
		rows = rows[:0]
		for m := range meters {
			rows = append(rows, benchHours(pdu(fmt.Sprint("pdu", m), "total"), i*hours, hours, 0)...)
		}
		i++
		b.StartTimer()
		if err := s.WriteHourly(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i*meters*hours)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkHourlyEach streams 30 days of rollups of 200 meters (144,000
// rows) and reports rows per second: the read path of a year's accounting.
func BenchmarkHourlyEach(b *testing.B) {
	s := openTest(b, Options{})
	ctx := context.Background()
	const meters, hours = 200, 30 * 24
	for m := range meters {
		if err := s.WriteHourly(ctx, benchHours(pdu(fmt.Sprint("pdu", m), "total"), 0, hours, 0)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		var sum float64
		if err := s.HourlyEach(ctx, store.Query{}, func(h store.Hourly) error {
			n++
			sum += h.PowerMeanW
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if sum == 0 {
			b.Fatal("no rows")
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkHourlyEachEmpty reads a month in which none of 5,000 meters has
// data (they have a day of rollups the month before): what the target view
// pays for each month of its history that the store does not cover.
func BenchmarkHourlyEachEmpty(b *testing.B) {
	s := openTest(b, Options{})
	ctx := context.Background()
	const meters = 5000
	var rows []store.Hourly
	for m := range meters {
		rows = append(rows, benchHours(pdu(fmt.Sprint("pdu", m/20), fmt.Sprint("outlet/", m%20)), 0, 24, 0)...)
	}
	if err := s.WriteHourly(ctx, rows); err != nil {
		b.Fatal(err)
	}
	from := t0.AddDate(0, 1, 0)
	for b.Loop() {
		if err := s.HourlyEach(ctx, store.Query{From: from, To: from.AddDate(0, 1, 0)}, func(h store.Hourly) error {
			b.Fatal("a row in an empty month")
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
