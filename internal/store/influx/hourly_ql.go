package influx

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// qlReaders is the most series hourlyQL has InfluxDB aggregate at once.
// InfluxDB runs each request on its own goroutine; more requests than its
// cores only queue.
const qlReaders = 4

// hourlyQL is HourlyEach through InfluxQL, for InfluxDB 1.x, where Flux's
// window() costs about 10 µs a value and InfluxQL's GROUP BY time(1h)
// about a tenth of that (see BenchmarkHourlyEach).
//
// InfluxQL gives the aggregates but stamps every window's selectors
// (first, last) with the window's start, and the energy model needs the
// counter's first and last reading times of each hour. They come, exact,
// from the times between consecutive counter readings: elapsed() of the
// counter in a subquery is, at each reading but the range's first, the
// time since the reading before, in nanoseconds (an integer), so per hour
// first(elapsed) is the hour's first reading less the last reading before
// the hour, and sum(elapsed) the hour's last reading less that same
// reading. Starting from the range's first reading (first() without GROUP
// BY time keeps its real time), each hour's first and last reading follow
// from the hour before by integer addition; nothing is estimated, and any
// result that does not fit (a reading outside its hour, a missing hour) is
// an error, never a figure.
//
// Each series is its own set of statements, selected by all seven tags:
// grouping by tags instead (GROUP BY *) costs InfluxDB a tag-set lookup per
// point, which measured twice the time. Series are listed from the index
// (SHOW SERIES) for the shards that overlap the range, read by up to
// qlReaders requests at once and handed to fn in compareSeries order.
func (s *Store) hourlyQL(ctx context.Context, q store.Query, fn func(store.Hourly) error) error {
	list, err := s.qlSeriesList(ctx, q, q.From, q.To)
	if err != nil || len(list) == 0 {
		return err
	}
	plan, err := s.planRollups(ctx, q.From, q.To)
	if err != nil {
		return err
	}
	readers := min(runtime.GOMAXPROCS(0), qlReaders, len(list))
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	type result struct {
		hours []store.Hourly
		err   error
	}
	done := make([]chan result, len(list))
	for i := range done {
		done[i] = make(chan result, 1)
	}
	jobs := make(chan int)
	slots := make(chan struct{}, 2*readers) // series read ahead of fn
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for i := range list {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				h, err := s.qlSeriesHours(ctx, list[i], &plan)
				done[i] <- result{h, err}
				if err != nil {
					return
				}
			}
		}()
	}
	for i := range list {
		var r result
		select {
		case r = <-done[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		for _, h := range r.hours {
			if err := fn(h); err != nil {
				return err
			}
		}
		<-slots
	}
	return nil
}

// qlSeriesHours reads one series' hours as plan says: the stretches
// without valid rollups from the raw points (see hourlyQL), the other hours
// from the rollups (see rollup.go), in one request.
func (s *Store) qlSeriesHours(ctx context.Context, ser sample.Series, plan *rollupPlan) ([]store.Hourly, error) {
	src, sel := s.qlFrom(sample.Power), qlSeriesCond(ser)
	var stmts []string
	for _, r := range plan.raw {
		cond := sel + " AND " + qlTimes(r[0], r[1])
		stmts = append(stmts,
			// The aggregates; the mean is sum / count, so that it does not
			// depend on how InfluxDB merges partial means across shards.
			"SELECT count(power_w) AS pn, sum(power_w) AS ps, count(energy_kwh) AS cn, first(energy_kwh) AS cf, last(energy_kwh) AS cl FROM "+
				src+" WHERE "+cond+" GROUP BY time(1h) fill(none)",
			// The stretch's first counter reading, at its own time.
			"SELECT first(energy_kwh) AS t0 FROM "+src+" WHERE "+cond,
			// Per hour, the times since the reading before (see hourlyQL).
			"SELECT first(el) AS ef, sum(el) AS es FROM (SELECT elapsed(energy_kwh, 1ns) AS el FROM "+src+" WHERE "+cond+
				") WHERE "+qlTimes(r[0], r[1])+" GROUP BY time(1h) fill(none)",
		)
	}
	if len(plan.valid) > 0 {
		// Day points: from the start of the first valid hour's day.
		stmts = append(stmts, "SELECT v FROM "+s.qlFrom(rollupMeasurement)+
			" WHERE "+sel+" AND "+qlTimes(time.Unix(0, dayOf(plan.from.UnixNano())), plan.to))
	}
	res, err := s.qlQuery(ctx, "hourly", strings.Join(stmts, "; "))
	if err != nil {
		return nil, err
	}
	var hours []store.Hourly
	for k := range plan.raw {
		h, err := qlHours(ser, res, 3*k)
		if err != nil {
			return nil, fmt.Errorf("influxdb %s: hourly: series %s: %w", s.url, ser.Key(), err)
		}
		hours = append(hours, h...)
	}
	if len(plan.valid) > 0 {
		h, err := rollupHours(ser, res, 3*len(plan.raw), plan.valid)
		if err != nil {
			return nil, fmt.Errorf("influxdb %s: hourly: series %s: %w", s.url, ser.Key(), err)
		}
		hours = append(hours, h...)
		slices.SortFunc(hours, func(a, b store.Hourly) int { return a.Hour.Compare(b.Hour) })
	}
	return hours, nil
}

// qlRows returns the rows of statement i and their columns (nil when the
// statement found nothing).
func qlRows(res []qlResult, i int) ([]qlSeries, error) {
	for _, r := range res {
		if r.StatementID == i {
			if len(r.Series) > 1 {
				return nil, fmt.Errorf("statement %d: %d series, want at most 1", i, len(r.Series))
			}
			return r.Series, nil
		}
	}
	return nil, fmt.Errorf("no result for statement %d", i)
}

// qlHours assembles a series' hours of one raw stretch from the answers to
// qlSeriesHours' statements base, base+1 and base+2.
func qlHours(ser sample.Series, res []qlResult, base int) ([]store.Hourly, error) {
	agg, err := qlRows(res, base)
	if err != nil || len(agg) == 0 {
		return nil, err
	}
	first, err := qlRows(res, base+1)
	if err != nil {
		return nil, err
	}
	gaps, err := qlRows(res, base+2)
	if err != nil {
		return nil, err
	}

	// The range's first counter reading.
	var t0 int64
	haveT0 := len(first) > 0 && len(first[0].Values) > 0
	if haveT0 {
		if t0, err = qlInt(first[0].Values[0][0]); err != nil {
			return nil, fmt.Errorf("first reading: time: %w", err)
		}
	}
	// Per hour, the first and the sum of the gaps before each reading.
	type gap struct{ first, sum int64 }
	gapOf := map[int64]gap{}
	if len(gaps) > 0 {
		c := qlColumns(gaps[0])
		for _, row := range gaps[0].Values {
			var g gap
			hour, err1 := qlInt(row[0])
			ef, err2 := qlInt(row[c["ef"]])
			es, err3 := qlInt(row[c["es"]])
			if err := firstErr(err1, err2, err3); err != nil {
				return nil, fmt.Errorf("gaps: %w", err)
			}
			g.first, g.sum = ef, es
			gapOf[hour] = g
		}
	}

	c := qlColumns(agg[0])
	for _, k := range []string{"pn", "ps", "cn", "cf", "cl"} {
		if _, ok := c[k]; !ok {
			return nil, fmt.Errorf("aggregates: no column %s in %v", k, agg[0].Columns)
		}
	}
	out := make([]store.Hourly, 0, len(agg[0].Values))
	var (
		prevLast int64
		havePrev bool
		used     int // hours of gapOf used
	)
	for _, row := range agg[0].Values {
		hour, err1 := qlInt(row[0])
		pn, err2 := qlInt(row[c["pn"]])
		ps, err3 := qlFloat(row[c["ps"]])
		cn, err4 := qlInt(row[c["cn"]])
		if err := firstErr(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("aggregates: %w", err)
		}
		h := store.Hourly{Series: ser, Hour: time.Unix(0, hour).UTC(), PowerSamples: int(pn), CounterSamples: int(cn)}
		if pn > 0 {
			h.PowerMeanW = ps / float64(pn)
		}
		if cn > 0 {
			cf, err1 := qlFloat(row[c["cf"]])
			cl, err2 := qlFloat(row[c["cl"]])
			if err := firstErr(err1, err2); err != nil {
				return nil, fmt.Errorf("aggregates: %w", err)
			}
			h.CounterFirstKWh, h.CounterLastKWh = cf, cl
			g, ok := gapOf[hour]
			if ok {
				used++
			}
			var fa, la int64
			switch {
			case !havePrev:
				// The hour of the range's first reading: no gap leads to
				// that reading, and the gaps of the later ones in the hour
				// add up to the hour's last.
				if !haveT0 {
					return nil, fmt.Errorf("hour %s has %d counter readings, but the range has no first reading", h.Hour.Format(time.RFC3339), cn)
				}
				fa, la = t0, t0+g.sum
			case !ok:
				return nil, fmt.Errorf("hour %s has %d counter readings but no time between readings", h.Hour.Format(time.RFC3339), cn)
			default:
				fa, la = prevLast+g.first, prevLast+g.sum
			}
			if fa < hour || la < fa || la >= hour+int64(time.Hour) {
				return nil, fmt.Errorf("hour %s: counter readings at %s and %s are not in the hour (the data changed while it was read?)",
					h.Hour.Format(time.RFC3339), time.Unix(0, fa).UTC().Format(time.RFC3339Nano), time.Unix(0, la).UTC().Format(time.RFC3339Nano))
			}
			h.CounterFirstAt, h.CounterLastAt = time.Unix(0, fa).UTC(), time.Unix(0, la).UTC()
			prevLast, havePrev = la, true
		}
		out = append(out, h)
	}
	if used != len(gapOf) {
		return nil, fmt.Errorf("%d hours have times between counter readings but no readings (the data changed while it was read?)", len(gapOf)-used)
	}
	return out, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
