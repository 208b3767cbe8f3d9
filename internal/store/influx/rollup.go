package influx

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
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
//     into ecometer_power_hourly (one point per meter and hour, the values
//     of store.Hourly), reads the token again and, when it has not changed,
//     records it for the hour (ecometer_power_rollups);
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
// are missing or no longer valid (see the package comment on rollups), one
// hour at a time; progress, when not nil, is called after each. On InfluxDB
// 2.x it does nothing. The service's rollup job calls it every ten minutes
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
	for i, h := range todo {
		n, ok, err := s.materializeHour(ctx, h, writes[h])
		if err != nil {
			return res, fmt.Errorf("materialize hour %s: %w", time.Unix(0, h).UTC().Format(time.RFC3339), err)
		}
		if ok {
			res.Hours++
			res.Meters += n
		} else {
			res.Changed++
		}
		if progress != nil {
			progress(i+1, len(todo))
		}
	}
	return res, nil
}

// rollupTags are the tags a rollup is grouped by: the seven of the data
// model, as the raw read selects a series.
const rollupTags = `"class","device","meter","rack","room","site","source"`

// materializeHour aggregates the hour starting at h (Unix ns) and records
// token with it unless the hour's token changed meanwhile (ok false). It
// returns the number of meters with rollups in the hour.
func (s *Store) materializeHour(ctx context.Context, h int64, token string) (meters int, ok bool, err error) {
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
		return 0, false, err
	}
	rows := map[sample.Series]*store.Hourly{}
	var order []sample.Series
	for i := range 3 {
		list, err := qlRowsAll(res, i)
		if err != nil {
			return 0, false, err
		}
		for _, r := range list {
			ser := seriesOfTags(r.Tags)
			if len(r.Values) != 1 {
				return 0, false, fmt.Errorf("statement %d: series %s: %d rows, want 1", i, ser.Key(), len(r.Values))
			}
			v, c := r.Values[0], qlColumns(r)
			hr := rows[ser]
			if hr == nil {
				if i > 0 {
					return 0, false, fmt.Errorf("statement %d: series %s has a counter reading but no count", i, ser.Key())
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
					return 0, false, fmt.Errorf("aggregates of %s: %w", ser.Key(), err)
				}
				hr.PowerSamples, hr.CounterSamples = int(pn), int(cn)
				if pn > 0 {
					hr.PowerMeanW = ps // the sum until written
				}
			case 1, 2:
				at, err1 := qlInt(v[0])
				kwh, err2 := qlFloat(v[1])
				if err := firstErr(err1, err2); err != nil {
					return 0, false, fmt.Errorf("counter of %s: %w", ser.Key(), err)
				}
				if at < h || at >= h+int64(time.Hour) {
					return 0, false, fmt.Errorf("counter of %s: reading at %d is not in the hour", ser.Key(), at)
				}
				if i == 1 {
					hr.CounterFirstKWh, hr.CounterFirstAt = kwh, time.Unix(0, at).UTC()
				} else {
					hr.CounterLastKWh, hr.CounterLastAt = kwh, time.Unix(0, at).UTC()
				}
			}
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
	for _, ser := range order {
		hr := rows[ser]
		if hr.PowerSamples == 0 && hr.CounterSamples == 0 {
			continue
		}
		if hr.CounterSamples > 0 && (hr.CounterFirstAt.IsZero() || hr.CounterLastAt.IsZero()) {
			return 0, false, fmt.Errorf("series %s: %d counter readings without a first and last", ser.Key(), hr.CounterSamples)
		}
		lp = appendRollup(lp, hr)
		meters++
		if n++; n >= s.batchSize {
			if err := flush(); err != nil {
				return 0, false, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, false, err
	}

	// The token again: a write that came while the hour was read changed it.
	now, _, err := s.rollupTokens(ctx, hour, hour.Add(time.Hour))
	if err != nil {
		return 0, false, err
	}
	if now[h] != token {
		return meters, false, nil
	}
	state := stateMeasurement + ` token="` + token + `",meters=` + strconv.Itoa(meters) + "i " + strconv.FormatInt(hour.Unix(), 10) + "\n"
	if err := s.send(ctx, []byte(state), true, "record rollups"); err != nil {
		return 0, false, err
	}
	return meters, true, nil
}

// appendRollup appends hr as a line of ecometer_power_hourly; PowerMeanW
// holds the sum of power_w (the mean is sum / count when read, as the raw
// read computes it).
func appendRollup(b []byte, hr *store.Hourly) []byte {
	b = append(b, rollupMeasurement...)
	for _, tag := range hr.Series.TagPairs() {
		b = append(b, ',')
		b = append(b, tag[0]...)
		b = append(b, '=')
		b = appendEscaped(b, tag[1], tagEscapes)
	}
	b = append(b, " pn="...)
	b = strconv.AppendInt(b, int64(hr.PowerSamples), 10)
	b = append(b, "i,ps="...)
	b = strconv.AppendFloat(b, hr.PowerMeanW, 'g', -1, 64)
	b = append(b, ",cn="...)
	b = strconv.AppendInt(b, int64(hr.CounterSamples), 10)
	b = append(b, 'i')
	if hr.CounterSamples > 0 {
		b = append(b, ",cf="...)
		b = strconv.AppendFloat(b, hr.CounterFirstKWh, 'g', -1, 64)
		b = append(b, ",cl="...)
		b = strconv.AppendFloat(b, hr.CounterLastKWh, 'g', -1, 64)
		b = append(b, ",cfa="...)
		b = strconv.AppendInt(b, hr.CounterFirstAt.UnixNano(), 10)
		b = append(b, "i,cla="...)
		b = strconv.AppendInt(b, hr.CounterLastAt.UnixNano(), 10)
		b = append(b, 'i')
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, hr.Hour.Unix(), 10)
	return append(b, '\n')
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
	for _, h := range hours {
		p.valid[h] = true
	}
	p.from, p.to = time.Unix(0, hours[0]).UTC(), time.Unix(0, hours[len(hours)-1]).UTC().Add(time.Hour)
	return p, nil
}

// rollupHours reads one series' rollups from the answer to statement i of
// qlSeriesHours, keeping the hours plan.valid names.
func rollupHours(ser sample.Series, res []qlResult, i int, valid map[int64]bool) ([]store.Hourly, error) {
	rows, err := qlRows(res, i)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	c := qlColumns(rows[0])
	for _, k := range []string{"pn", "ps", "cn", "cf", "cl", "cfa", "cla"} {
		if _, ok := c[k]; !ok {
			return nil, fmt.Errorf("rollups: no column %s in %v", k, rows[0].Columns)
		}
	}
	var out []store.Hourly
	for _, v := range rows[0].Values {
		at, err1 := qlInt(v[0])
		pn, err2 := qlInt(v[c["pn"]])
		ps, err3 := qlFloat(v[c["ps"]])
		cn, err4 := qlInt(v[c["cn"]])
		if err := firstErr(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("rollups: %w", err)
		}
		if !valid[at] {
			continue
		}
		h := store.Hourly{Series: ser, Hour: time.Unix(0, at).UTC(), PowerSamples: int(pn), CounterSamples: int(cn)}
		if pn > 0 {
			h.PowerMeanW = ps / float64(pn)
		}
		if cn > 0 {
			cf, err1 := qlFloat(v[c["cf"]])
			cl, err2 := qlFloat(v[c["cl"]])
			fa, err3 := qlInt(v[c["cfa"]])
			la, err4 := qlInt(v[c["cla"]])
			if err := firstErr(err1, err2, err3, err4); err != nil {
				return nil, fmt.Errorf("rollups: %s: %w", h.Hour.Format(time.RFC3339), err)
			}
			h.CounterFirstKWh, h.CounterLastKWh = cf, cl
			h.CounterFirstAt, h.CounterLastAt = time.Unix(0, fa).UTC(), time.Unix(0, la).UTC()
		}
		out = append(out, h)
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
