package influx

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// Hourly rollups (InfluxDB 1.x).
//
// A month of 5,000 meters polled every minute is 216 M raw points, and
// InfluxDB's GROUP BY time(1h) over them costs about 0.6 µs each: two
// minutes and more for one month's report. So the hourly aggregates
// HourlyEach returns are kept in InfluxDB itself, next to the raw points
// (in the same database and retention policy), and read instead of the raw
// points for the hours where they are still what aggregating the raw points
// would give. The scheme is the embedded store's materialized hours
// (internal/store/sqlite/materialize.go) in InfluxDB's terms:
//
//   - every Write, once its samples are stored, writes a new random token
//     for each hour its power samples fall in (measurement
//     ecometer_power_writes, one point per hour, so the last write wins);
//   - Materialize reads an hour's token, aggregates the hour's raw points
//     into ecometer_power_hourly (the values of store.Hourly, in one point
//     per meter and UTC day, see appendDay), reads the token again and,
//     when it has not changed, records it for the hour
//     (ecometer_power_rollups);
//   - HourlyEach uses an hour's rollups only while the recorded token is
//     the hour's current one. A sample that arrives after the hour was
//     aggregated (late, through the outbox after an outage, or from another
//     shard) is followed by a new token, so the hour is read raw again
//     until Materialize runs again.
//
// A writer that stops between storing its samples and writing the token
// has not had its write acknowledged: the outbox sends the batch again,
// token included. Data written to the power measurement by anything else
// than ecometer writes no token and is not seen in hours already
// aggregated; Options.RawHourly reads the raw points only.
//
// On InfluxDB 2.x (Flux) there are no rollups: Write writes no tokens,
// Materialize does nothing and HourlyEach reads the raw points.

// The measurements of the rollup scheme.
const (
	rollupMeasurement = "ecometer_power_hourly"
	writesMeasurement = "ecometer_power_writes"
	stateMeasurement  = "ecometer_power_rollups"
)

// RollupSettle is how long after its end an hour is first aggregated, so
// that the samples of its last poll have arrived (a later one only makes
// the hour raw again until the next run).
const RollupSettle = 5 * time.Minute

// maxRawRuns is the most separate stretches of hours without valid
// rollups that one series' read asks for apiece; more are read raw as one
// stretch from the first to the last.
const maxRawRuns = 4

// markWrites writes a new token for every hour of batch's power samples
// (see the package comment on rollups). It runs after the samples are
// stored.
func (s *Store) markWrites(ctx context.Context, batch []sample.Sample) error {
	if !s.influxQL {
		return nil
	}
	var (
		hours []int64
		seen  = map[int64]bool{}
		last  = int64(-1 << 63)
	)
	for i := range batch {
		if batch[i].Measurement != sample.Power {
			continue
		}
		h := batch[i].Time.Truncate(time.Hour).Unix()
		if h == last || seen[h] {
			continue
		}
		last, seen[h] = h, true
		hours = append(hours, h)
	}
	if len(hours) == 0 {
		return nil
	}
	token := strconv.FormatUint(rand.Uint64(), 36)
	lp := make([]byte, 0, len(hours)*(len(writesMeasurement)+40))
	for _, h := range hours {
		lp = append(lp, writesMeasurement+` token="`...)
		lp = append(lp, token...)
		lp = append(lp, `" `...)
		lp = strconv.AppendInt(lp, h, 10)
		lp = append(lp, '\n')
	}
	return s.send(ctx, lp, true, fmt.Sprintf("mark %d written hours", len(hours)))
}

// rollupTokens returns, by hour (Unix ns), the current write token and the
// token recorded with the hour's rollups, for the hours in [from, to).
func (s *Store) rollupTokens(ctx context.Context, from, to time.Time) (writes, states map[int64]string, err error) {
	cond := " WHERE " + qlTimes(from, to)
	res, err := s.qlQuery(ctx, "rollup tokens", "SELECT token FROM "+s.qlFrom(writesMeasurement)+cond+
		"; SELECT token FROM "+s.qlFrom(stateMeasurement)+cond)
	if err != nil {
		return nil, nil, err
	}
	read := func(i int) (map[int64]string, error) {
		rows, err := qlRows(res, i)
		if err != nil {
			return nil, err
		}
		out := map[int64]string{}
		for _, r := range rows {
			c := qlColumns(r)
			k, ok := c["token"]
			if !ok {
				return nil, fmt.Errorf("statement %d: no column token in %v", i, r.Columns)
			}
			for _, v := range r.Values {
				at, err := qlInt(v[0])
				if err != nil {
					return nil, fmt.Errorf("statement %d: %w", i, err)
				}
				out[at] = string(v[k])
			}
		}
		return out, nil
	}
	if writes, err = read(0); err == nil {
		states, err = read(1)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("influxdb %s: rollup tokens: %w", s.url, err)
	}
	return writes, states, nil
}

// MaterializeResult says what Materialize did.
type MaterializeResult struct {
	Hours   int // hours aggregated and recorded
	Changed int // hours written to while being aggregated: left for the next run
	Meters  int // meter-hours written
}

// Materialize aggregates every complete UTC hour in [from, to) whose rollups
// are missing or no longer valid (see the package comment on rollups), a
// UTC day's hours together, rollupWorkers days at a time; progress, when not
// nil, is called after each day with the hours done so far. Only one
// Materialize may run on a database at a time (a day's points are read,
// merged and written back). On InfluxDB 2.x it does nothing. The service's rollup job calls it every ten minutes
// (backend.Rollups); it is exported for loading history and for benchmarks.
func (s *Store) Materialize(ctx context.Context, from, to time.Time, progress func(done, total int)) (MaterializeResult, error) {
	var res MaterializeResult
	if !s.influxQL {
		return res, nil
	}
	first := from.UTC().Truncate(time.Hour)
	if first.Before(from) {
		first = first.Add(time.Hour)
	}
	end := to.UTC().Truncate(time.Hour)
	if !first.Before(end) {
		return res, nil
	}
	writes, states, err := s.rollupTokens(ctx, first, end)
	if err != nil {
		return res, fmt.Errorf("materialize: %w", err)
	}
	var todo []int64
	for h := first; h.Before(end); h = h.Add(time.Hour) {
		ns := h.UnixNano()
		if st, ok := states[ns]; ok && st == writes[ns] {
			continue
		}
		todo = append(todo, ns)
	}
	// A day's hours are aggregated by one worker (they share a point per
	// meter), rollupWorkers days at a time: InfluxDB runs each query on one
	// core.
	var days [][]int64
	for _, h := range todo {
		if k := len(days) - 1; k >= 0 && dayOf(days[k][0]) == dayOf(h) {
			days[k] = append(days[k], h)
		} else {
			days = append(days, []int64{h})
		}
	}
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wg       sync.WaitGroup
		next     = make(chan []int64)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(rollupWorkers, len(days)) {
		wg.Go(func() {
			for hours := range next {
				r, err := s.materializeDay(ctx, hours, writes)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("materialize %s: %w", time.Unix(0, dayOf(hours[0])).UTC().Format(time.DateOnly), err)
						cancel()
					}
				} else {
					res.Hours += r.Hours
					res.Changed += r.Changed
					res.Meters += r.Meters
					done += len(hours)
					if progress != nil {
						progress(done, len(todo))
					}
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, d := range days {
		select {
		case next <- d:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("materialize: %w", context.Cause(ctx))
	}
	return res, firstErr
}

// dayOf is the start of the UTC day of t (Unix ns).
func dayOf(t int64) int64 { return t - ((t%dayNS)+dayNS)%dayNS }

const dayNS = int64(24 * time.Hour)

// rollupWorkers is how many days Materialize aggregates at once.
const rollupWorkers = 2

// rollupTags are the tags a rollup is grouped by: the seven of the data
// model, as the raw read selects a series.
const rollupTags = `"class","device","meter","rack","room","site","source"`

// aggregateHour returns the aggregates of every power series with samples
// in the hour starting at h (Unix ns), with the sum of power_w in
// PowerMeanW.
func (s *Store) aggregateHour(ctx context.Context, h int64) ([]*store.Hourly, error) {
	hour := time.Unix(0, h).UTC()
	src := s.qlFrom(sample.Power)
	cond := " WHERE " + qlTimes(hour, hour.Add(time.Hour)) + " GROUP BY " + rollupTags
	// Without GROUP BY time, first() and last() keep the reading's own
	// time.
	res, err := s.qlQuery(ctx, "materialize", strings.Join([]string{
		"SELECT count(power_w) AS pn, sum(power_w) AS ps, count(energy_kwh) AS cn FROM " + src + cond,
		"SELECT first(energy_kwh) AS cf FROM " + src + cond,
		"SELECT last(energy_kwh) AS cl FROM " + src + cond,
	}, "; "))
	if err != nil {
		return nil, err
	}
	rows := map[sample.Series]*store.Hourly{}
	var order []sample.Series
	for i := range 3 {
		list, err := qlRowsAll(res, i)
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			ser := seriesOfTags(r.Tags)
			if len(r.Values) != 1 {
				return nil, fmt.Errorf("statement %d: series %s: %d rows, want 1", i, ser.Key(), len(r.Values))
			}
			v, c := r.Values[0], qlColumns(r)
			hr := rows[ser]
			if hr == nil {
				if i > 0 {
					return nil, fmt.Errorf("statement %d: series %s has a counter reading but no count", i, ser.Key())
				}
				hr = &store.Hourly{Series: ser, Hour: hour}
				rows[ser] = hr
				order = append(order, ser)
			}
			switch i {
			case 0:
				pn, err1 := qlInt(v[c["pn"]])
				ps, err2 := qlFloatOr0(v[c["ps"]])
				cn, err3 := qlInt(v[c["cn"]])
				if err := firstErr(err1, err2, err3); err != nil {
					return nil, fmt.Errorf("aggregates of %s: %w", ser.Key(), err)
				}
				hr.PowerSamples, hr.CounterSamples = int(pn), int(cn)
				if pn > 0 {
					hr.PowerMeanW = ps // the sum until written
				}
			case 1, 2:
				at, err1 := qlInt(v[0])
				kwh, err2 := qlFloat(v[1])
				if err := firstErr(err1, err2); err != nil {
					return nil, fmt.Errorf("counter of %s: %w", ser.Key(), err)
				}
				if at < h || at >= h+int64(time.Hour) {
					return nil, fmt.Errorf("counter of %s: reading at %d is not in the hour", ser.Key(), at)
				}
				if i == 1 {
					hr.CounterFirstKWh, hr.CounterFirstAt = kwh, time.Unix(0, at).UTC()
				} else {
					hr.CounterLastKWh, hr.CounterLastAt = kwh, time.Unix(0, at).UTC()
				}
			}
		}
	}

	out := make([]*store.Hourly, 0, len(order))
	for _, ser := range order {
		hr := rows[ser]
		if hr.PowerSamples == 0 && hr.CounterSamples == 0 {
			continue
		}
		if hr.CounterSamples > 0 && (hr.CounterFirstAt.IsZero() || hr.CounterLastAt.IsZero()) {
			return nil, fmt.Errorf("series %s: %d counter readings without a first and last", ser.Key(), hr.CounterSamples)
		}
		out = append(out, hr)
	}
	return out, nil
}

// materializeDay aggregates hours (Unix ns, all of one UTC day), merges
// them into the day's rollup points, one per meter, and records for each
// hour the token it had before (tokens) unless a write changed it
// meanwhile.
func (s *Store) materializeDay(ctx context.Context, hours []int64, tokens map[int64]string) (MaterializeResult, error) {
	var res MaterializeResult
	day := dayOf(hours[0])
	fresh := map[sample.Series]map[int]string{} // hour of the day → value
	meters := map[int64]int{}
	for _, h := range hours {
		rows, err := s.aggregateHour(ctx, h)
		if err != nil {
			return res, fmt.Errorf("hour %s: %w", time.Unix(0, h).UTC().Format(time.RFC3339), err)
		}
		hod := int((h - day) / int64(time.Hour))
		for _, hr := range rows {
			m := fresh[hr.Series]
			if m == nil {
				m = map[int]string{}
				fresh[hr.Series] = m
			}
			m[hod] = string(appendRollupValue(nil, hr))
		}
		meters[h] = len(rows)
	}

	// The day's points as they are: their other hours stay.
	dayStart := time.Unix(0, day).UTC()
	res0, err := s.qlQuery(ctx, "materialize: read the day", "SELECT v FROM "+s.qlFrom(rollupMeasurement)+
		" WHERE "+qlTimes(dayStart, dayStart.Add(24*time.Hour))+" GROUP BY "+rollupTags)
	if err != nil {
		return res, err
	}
	stored, err := qlRowsAll(res0, 0)
	if err != nil {
		return res, err
	}
	merged := map[sample.Series]map[int]string{}
	for _, r := range stored {
		ser := seriesOfTags(r.Tags)
		c, ok := qlColumns(r)["v"]
		if !ok || len(r.Values) != 1 {
			return res, fmt.Errorf("day %s: series %s: %d rows of %v", dayStart.Format(time.DateOnly), ser.Key(), len(r.Values), r.Columns)
		}
		m, err := splitDay(string(r.Values[0][c]))
		if err != nil {
			return res, fmt.Errorf("day %s: series %s: %w", dayStart.Format(time.DateOnly), ser.Key(), err)
		}
		for _, h := range hours { // aggregated anew: what is not in fresh has no samples
			delete(m, int((h-day)/int64(time.Hour)))
		}
		merged[ser] = m
	}
	for ser, f := range fresh {
		m := merged[ser]
		if m == nil {
			m = map[int]string{}
			merged[ser] = m
		}
		for hod, v := range f {
			m[hod] = v
		}
	}

	var lp []byte
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		err := s.send(ctx, lp, true, fmt.Sprintf("write %d rollups", n))
		lp, n = lp[:0], 0
		return err
	}
	for ser, m := range merged {
		lp = appendDay(lp, ser, day, m)
		if n++; n >= s.batchSize {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}

	// The tokens again: a write that came while an hour was read changed
	// its token, and the hour is not recorded.
	now, _, err := s.rollupTokens(ctx, dayStart, dayStart.Add(24*time.Hour))
	if err != nil {
		return res, err
	}
	for _, h := range hours {
		if now[h] != tokens[h] {
			res.Changed++
			continue
		}
		lp = append(lp, stateMeasurement+` token="`+tokens[h]+`",meters=`+strconv.Itoa(meters[h])+"i "+
			strconv.FormatInt(h/int64(time.Second), 10)+"\n"...)
		res.Hours++
		res.Meters += meters[h]
	}
	if len(lp) > 0 {
		if err := s.send(ctx, lp, true, "record rollups"); err != nil {
			return MaterializeResult{}, err
		}
	}
	return res, nil
}

// appendDay appends a meter's rollups of one UTC day as a line of
// ecometer_power_hourly at the day's start: the field v holds each hour's
// aggregates as "H=value" (H the hour of the day, value as
// appendRollupValue writes it), separated by ";", in hour order. One row
// per meter and day instead of one per hour: InfluxDB 1.8 answers a month
// of rows of one meter in about 4 ms on its side, a month of days in a
// fraction of that.
func appendDay(b []byte, ser sample.Series, day int64, hours map[int]string) []byte {
	b = append(b, rollupMeasurement...)
	for _, tag := range ser.TagPairs() {
		b = append(b, ',')
		b = append(b, tag[0]...)
		b = append(b, '=')
		b = appendEscaped(b, tag[1], tagEscapes)
	}
	b = append(b, ` v="`...)
	for k, hod := range slices.Sorted(maps.Keys(hours)) {
		if k > 0 {
			b = append(b, ';')
		}
		b = strconv.AppendInt(b, int64(hod), 10)
		b = append(b, '=')
		b = append(b, hours[hod]...)
	}
	b = append(b, `" `...)
	b = strconv.AppendInt(b, day/int64(time.Second), 10)
	return append(b, '\n')
}

// splitDay reads the field v of a day's rollup point into its hours' values.
func splitDay(v string) (map[int]string, error) {
	out := map[int]string{}
	for v != "" {
		var e string
		if i := strings.IndexByte(v, ';'); i >= 0 {
			e, v = v[:i], v[i+1:]
		} else {
			e, v = v, ""
		}
		k, val, ok := strings.Cut(e, "=")
		hod, err := strconv.Atoi(k)
		if !ok || err != nil || hod < 0 || hod > 23 || val == "" {
			return nil, fmt.Errorf("rollup entry %q: want HOUR=VALUE", e)
		}
		if _, dup := out[hod]; dup {
			return nil, fmt.Errorf("rollup hour %d twice", hod)
		}
		out[hod] = val
	}
	return out, nil
}

// appendRollupValue appends the field v of a rollup: power_w's count and
// sum, energy_kwh's count and, when it is not 0, its first and last
// reading and their times in Unix nanoseconds, separated by spaces. Floats
// are written in the shortest form that reads back exactly.
func appendRollupValue(b []byte, hr *store.Hourly) []byte {
	b = strconv.AppendInt(b, int64(hr.PowerSamples), 10)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, hr.PowerMeanW, 'g', -1, 64)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(hr.CounterSamples), 10)
	if hr.CounterSamples > 0 {
		b = append(b, ' ')
		b = strconv.AppendFloat(b, hr.CounterFirstKWh, 'g', -1, 64)
		b = append(b, ' ')
		b = strconv.AppendFloat(b, hr.CounterLastKWh, 'g', -1, 64)
		b = append(b, ' ')
		b = strconv.AppendInt(b, hr.CounterFirstAt.UnixNano(), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, hr.CounterLastAt.UnixNano(), 10)
	}
	return b
}

// parseRollupValue reads what appendRollupValue wrote into h (whose
// Series and Hour are set), the sum of power_w turned into the mean.
func parseRollupValue(v string, h *store.Hourly) error {
	var parts [7]string
	n := 0
	for v != "" {
		if n == len(parts) {
			return fmt.Errorf("more than %d values", len(parts))
		}
		i := strings.IndexByte(v, ' ')
		if i < 0 {
			parts[n], v = v, ""
		} else {
			parts[n], v = v[:i], v[i+1:]
		}
		n++
	}
	if n != 3 && n != 7 {
		return fmt.Errorf("%d values, want 3 or 7", n)
	}
	pn, err1 := strconv.Atoi(parts[0])
	ps, err2 := strconv.ParseFloat(parts[1], 64)
	cn, err3 := strconv.Atoi(parts[2])
	if err := firstErr(err1, err2, err3); err != nil {
		return err
	}
	if pn < 0 || cn < 0 || (cn > 0) != (n == 7) {
		return fmt.Errorf("counts %d and %d with %d values", pn, cn, n)
	}
	h.PowerSamples, h.CounterSamples = pn, cn
	if pn > 0 {
		h.PowerMeanW = ps / float64(pn)
	}
	if cn > 0 {
		cf, err1 := strconv.ParseFloat(parts[3], 64)
		cl, err2 := strconv.ParseFloat(parts[4], 64)
		fa, err3 := strconv.ParseInt(parts[5], 10, 64)
		la, err4 := strconv.ParseInt(parts[6], 10, 64)
		if err := firstErr(err1, err2, err3, err4); err != nil {
			return err
		}
		h.CounterFirstKWh, h.CounterLastKWh = cf, cl
		h.CounterFirstAt, h.CounterLastAt = time.Unix(0, fa).UTC(), time.Unix(0, la).UTC()
	}
	return nil
}

// seriesOfTags is the power series of a GROUP BY rollupTags answer.
func seriesOfTags(t map[string]string) sample.Series {
	return sample.Series{Measurement: sample.Power, Class: t["class"], Device: t["device"], Meter: t["meter"],
		Rack: t["rack"], Room: t["room"], Site: t["site"], Source: t["source"]}
}

// rollupPlan is how one HourlyEach range is read: the hours with valid
// rollups (Unix ns) and the stretches between them read from raw points.
type rollupPlan struct {
	valid    map[int64]bool
	from, to time.Time      // the valid hours' span: [first, last + 1 h)
	raw      [][2]time.Time // in order; a zero bound is open
}

// planRollups decides which hours of [from, to) (zero bounds open) come from
// rollups: those wholly inside the range whose recorded token is current.
func (s *Store) planRollups(ctx context.Context, from, to time.Time) (rollupPlan, error) {
	all := rollupPlan{raw: [][2]time.Time{{from, to}}}
	if !s.influxQL || s.rawHourly {
		return all, nil
	}
	writes, states, err := s.rollupTokens(ctx, from, to)
	if err != nil {
		return rollupPlan{}, err
	}
	var hours []int64
	for h, tok := range states {
		if tok == writes[h] && (to.IsZero() || h+int64(time.Hour) <= to.UnixNano()) {
			hours = append(hours, h)
		}
	}
	if len(hours) == 0 {
		return all, nil
	}
	slices.Sort(hours)
	p := rollupPlan{valid: map[int64]bool{}}
	cursor := from
	for _, h := range hours {
		at := time.Unix(0, h).UTC()
		if cursor.IsZero() || cursor.Before(at) {
			p.raw = append(p.raw, [2]time.Time{cursor, at})
		}
		cursor = at.Add(time.Hour)
	}
	if to.IsZero() || cursor.Before(to) {
		p.raw = append(p.raw, [2]time.Time{cursor, to})
	}
	if len(p.raw) > maxRawRuns {
		// One stretch from the first raw hour to the last; rollups only
		// outside it.
		lo, hi := p.raw[0][0], p.raw[len(p.raw)-1][1]
		p.raw = [][2]time.Time{{lo, hi}}
		hours = slices.DeleteFunc(hours, func(h int64) bool {
			return (lo.IsZero() || h >= lo.UnixNano()) && (hi.IsZero() || h < hi.UnixNano())
		})
	}
	if len(hours) == 0 {
		return all, nil
	}
	if p.raw, err = s.pruneRaw(ctx, p.raw); err != nil {
		return rollupPlan{}, err
	}
	for _, h := range hours {
		p.valid[h] = true
	}
	p.from, p.to = time.Unix(0, hours[0]).UTC(), time.Unix(0, hours[len(hours)-1]).UTC().Add(time.Hour)
	return p, nil
}

// pruneMax is the longest raw stretch pruneRaw checks for points: a short
// one costs InfluxDB little to count, and each stretch dropped saves three
// statements per meter (the hour before a month whose data begins with the
// month, the hours after the last sample).
const pruneMax = 24 * time.Hour

// pruneRaw drops the bounded stretches of up to pruneMax that hold no
// power sample of any series.
func (s *Store) pruneRaw(ctx context.Context, raw [][2]time.Time) ([][2]time.Time, error) {
	var check []int
	var stmts []string
	for i, r := range raw {
		if !r[0].IsZero() && !r[1].IsZero() && r[1].Sub(r[0]) <= pruneMax {
			check = append(check, i)
			stmts = append(stmts, "SELECT count(power_w) AS pn, count(energy_kwh) AS cn FROM "+s.qlFrom(sample.Power)+" WHERE "+qlTimes(r[0], r[1]))
		}
	}
	if len(check) == 0 {
		return raw, nil
	}
	res, err := s.qlQuery(ctx, "hourly: raw stretches", strings.Join(stmts, "; "))
	if err != nil {
		return nil, err
	}
	empty := map[int]bool{}
	for k, i := range check {
		rows, err := qlRows(res, k)
		if err != nil {
			return nil, fmt.Errorf("influxdb %s: hourly: raw stretches: %w", s.url, err)
		}
		if len(rows) == 0 || len(rows[0].Values) == 0 {
			empty[i] = true
			continue
		}
		c := qlColumns(rows[0])
		pn, err1 := qlInt(rows[0].Values[0][c["pn"]])
		cn, err2 := qlInt(rows[0].Values[0][c["cn"]])
		if err := firstErr(err1, err2); err != nil {
			return nil, fmt.Errorf("influxdb %s: hourly: raw stretches: %w", s.url, err)
		}
		empty[i] = pn == 0 && cn == 0
	}
	out := raw[:0:0]
	for i, r := range raw {
		if !empty[i] {
			out = append(out, r)
		}
	}
	return out, nil
}

// rollupHours reads one series' rollups from the answer to statement i of
// qlSeriesHours (its day points), keeping the hours plan.valid names.
func rollupHours(ser sample.Series, res []qlResult, i int, valid map[int64]bool) ([]store.Hourly, error) {
	rows, err := qlRows(res, i)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	c, ok := qlColumns(rows[0])["v"]
	if !ok {
		return nil, fmt.Errorf("rollups: no column v in %v", rows[0].Columns)
	}
	var out []store.Hourly
	for _, v := range rows[0].Values {
		day, err := qlInt(v[0])
		if err != nil {
			return nil, fmt.Errorf("rollups: %w", err)
		}
		hours, err := splitDay(string(v[c]))
		if err != nil {
			return nil, fmt.Errorf("rollups of %s: %w", time.Unix(0, day).UTC().Format(time.DateOnly), err)
		}
		for _, hod := range slices.Sorted(maps.Keys(hours)) {
			at := day + int64(hod)*int64(time.Hour)
			if !valid[at] {
				continue
			}
			h := store.Hourly{Series: ser, Hour: time.Unix(0, at).UTC()}
			if err := parseRollupValue(hours[hod], &h); err != nil {
				return nil, fmt.Errorf("rollups: %s: %q: %w", h.Hour.Format(time.RFC3339), hours[hod], err)
			}
			out = append(out, h)
		}
	}
	return out, nil
}

// qlRowsAll returns the rows of statement i, any number of series.
func qlRowsAll(res []qlResult, i int) ([]qlSeries, error) {
	for _, r := range res {
		if r.StatementID == i {
			return r.Series, nil
		}
	}
	return nil, fmt.Errorf("no result for statement %d", i)
}

// qlFloatOr0 is qlFloat, with null (no value) as 0.
func qlFloatOr0(v qlCell) (float64, error) {
	if v == "" {
		return 0, nil
	}
	return qlFloat(v)
}
