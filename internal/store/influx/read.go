package influx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/query"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// Bounds used when a query leaves a time open: Flux needs an explicit range,
// and samples stamped in the future (a skewed device clock) must still be seen.
var (
	openStart = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	openStop  = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Latest returns the newest sample of every matching series, ordered by
// series. The newest sample holds the fields written at the series' newest
// time.
func (s *Store) Latest(ctx context.Context, q store.Query) ([]sample.Sample, error) {
	if q.Measurement == "" {
		return nil, fmt.Errorf("influxdb %s: latest: empty measurement", s.url)
	}
	flux := source(s.bucket, q, time.Time{}, time.Time{}, nil, false) + `
  |> last()
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	// last() is per field: when the newest point of a series lacks a field,
	// that field's last value is older and comes as a separate, older row.
	newest := map[string]sample.Sample{}
	err := s.run(ctx, "latest", flux, func(r *query.FluxRecord) error {
		smp, err := toSample(q.Measurement, r)
		if err != nil {
			return err
		}
		k := smp.Key()
		if old, ok := newest[k]; !ok || smp.Time.After(old.Time) {
			newest[k] = smp
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]sample.Sample, 0, len(newest))
	for _, smp := range newest {
		out = append(out, smp)
	}
	slices.SortFunc(out, func(a, b sample.Sample) int { return compareSeries(a.Series, b.Series) })
	return out, nil
}

// Range streams the samples of q's range to fn as they arrive, series by
// series in InfluxDB's series key order (see compareSeries), each series in
// time order. fn's error stops the
// query and is returned as is.
func (s *Store) Range(ctx context.Context, q store.Query, fn func(sample.Sample) error) error {
	if q.Measurement == "" {
		return fmt.Errorf("influxdb %s: range: empty measurement", s.url)
	}
	flux := source(s.bucket, q, q.From, q.To, nil, false) + `
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> sort(columns: ["_time"])`
	return s.run(ctx, "range", flux, func(r *query.FluxRecord) error {
		if !q.To.IsZero() && !r.Time().Before(q.To) {
			return nil // 1.8's range includes its stop
		}
		smp, err := toSample(q.Measurement, r)
		if err != nil {
			return err
		}
		if err := fn(smp); err != nil {
			return callbackError{err}
		}
		return nil
	})
}

// Hourly returns, per power meter and clock hour (UTC), the count and mean of
// power_w and the count, first and last of energy_kwh with their times, all
// computed by InfluxDB; ordered by series, then hour. It collects what
// HourlyEach streams, sorted by compareSeries (which differs from the
// streaming order only for tag values that hold characters below ',').
func (s *Store) Hourly(ctx context.Context, q store.Query) ([]store.Hourly, error) {
	var out []store.Hourly
	if err := s.HourlyEach(ctx, q, func(h store.Hourly) error {
		out = append(out, h)
		return nil
	}); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b store.Hourly) int {
		return cmp.Or(compareSeries(a.Series, b.Series), a.Hour.Compare(b.Hour))
	})
	return out, nil
}

// hourlySeriesKeys are the columns HourlyEach groups its result by: one
// table per series, in series key order.
const hourlySeriesKeys = `["_measurement", "class", "device", "meter", "rack", "room", "site", "source"]`

// HourlyEach streams what Hourly returns to fn, series by series in
// compareSeries order (Flux: InfluxDB's series key order, see
// compareSeries), each series in hour order, holding no more than a few
// series' hours. fn's error stops the query and is returned as is.
//
// On InfluxDB 1.x (no organisation configured) the aggregates come from
// InfluxQL (hourlyQL), which 1.8 runs about twenty times faster than the
// Flux query; on 2.x, from Flux (hourlyFlux).
func (s *Store) HourlyEach(ctx context.Context, q store.Query, fn func(store.Hourly) error) error {
	if s.influxQL {
		err := s.hourlyQL(ctx, q, func(h store.Hourly) error {
			if err := fn(h); err != nil {
				return callbackError{err}
			}
			return nil
		})
		if cb, ok := err.(callbackError); ok {
			return cb.err
		}
		return err
	}
	return s.hourlyFlux(ctx, q, fn)
}

// hourlyFlux is HourlyEach through Flux, for InfluxDB 2.x. The four
// aggregates of every meter-hour (count per field, mean of power_w, first
// and last of energy_kwh) come out of InfluxDB as one table per series,
// sorted by hour, so each meter-hour is complete once the next one starts
// and nothing is held but the hour being assembled.
//
// On InfluxDB 1.8, window() dominates the cost (≈ 10 µs per value). One
// range per hour instead of window() was measured too: ten times faster at
// 300 samples per meter-hour, slower at 30, and it costs ≈ 1 ms per meter
// and hour even without data, so window() stays: its cost follows the data.
func (s *Store) hourlyFlux(ctx context.Context, q store.Query, fn func(store.Hourly) error) error {
	q.Measurement = sample.Power
	// With To on a whole hour, a row for the hour starting at To (1.8's
	// range includes its stop) is dropped below; otherwise Flux must exclude
	// To.
	hourAligned := q.To.IsZero() || q.To.Equal(q.To.Truncate(time.Hour))
	// count() and mean() drop _time: it is set to the window's start, so
	// that all four aggregates share one schema and can be unioned.
	flux := `data = ` + source(s.bucket, q, q.From, q.To, []string{"power_w", "energy_kwh"}, !hourAligned) + `
  |> window(every: 1h)
energy = data |> filter(fn: (r) => r._field == "energy_kwh")
union(tables: [
  data |> count() |> map(fn: (r) => ({r with _value: float(v: r._value), _time: r._start})) |> set(key: "_agg", value: "count"),
  data |> filter(fn: (r) => r._field == "power_w") |> mean() |> map(fn: (r) => ({r with _time: r._start})) |> set(key: "_agg", value: "mean"),
  energy |> first() |> set(key: "_agg", value: "first"),
  energy |> last() |> set(key: "_agg", value: "last"),
])
  |> group(columns: ` + hourlySeriesKeys + `)
  |> sort(columns: ["_start"])`

	var (
		cur  store.Hourly // the meter-hour being assembled
		have bool
		done = map[sample.Series]bool{} // series passed to fn and ended
	)
	emit := func() error {
		if !have {
			return nil
		}
		if err := fn(cur); err != nil {
			return callbackError{err}
		}
		have = false
		return nil
	}
	err := s.run(ctx, "hourly", flux, func(r *query.FluxRecord) error {
		if !r.Stop().After(r.Start()) {
			// 1.8 puts the samples at range's (inclusive) stop into an
			// extra window of zero width, starting where the range does.
			return nil
		}
		series := toSeries(sample.Power, r)
		// Windows are clipped to the query range, so the first one may
		// start after the hour does.
		hour := r.Start().UTC().Truncate(time.Hour)
		if !q.To.IsZero() && !hour.Before(q.To) {
			return nil
		}
		if !have || cur.Series != series || !cur.Hour.Equal(hour) {
			// group() returns each series as one table, sorted by hour; a
			// server that did not could not be streamed in order.
			switch {
			case have && cur.Series != series:
				done[cur.Series] = true
			case have && !hour.After(cur.Hour):
				return fmt.Errorf("series %s: hour %s after %s: result not in hour order",
					series.Key(), hour.Format(time.RFC3339), cur.Hour.Format(time.RFC3339))
			}
			if done[series] {
				return fmt.Errorf("series %s: not contiguous in the result", series.Key())
			}
			if err := emit(); err != nil {
				return err
			}
			cur, have = store.Hourly{Series: series, Hour: hour}, true
		}
		agg, _ := r.ValueByKey("_agg").(string)
		switch agg {
		case "count":
			n, ok := r.Value().(float64)
			if !ok {
				return fmt.Errorf("count of %s is %T", r.Field(), r.Value())
			}
			if r.Field() == "power_w" {
				cur.PowerSamples = int(n)
			} else {
				cur.CounterSamples = int(n)
			}
		case "mean":
			cur.PowerMeanW, _ = r.Value().(float64)
		case "first":
			cur.CounterFirstKWh, _ = r.Value().(float64)
			cur.CounterFirstAt = r.Time().UTC()
		case "last":
			cur.CounterLastKWh, _ = r.Value().(float64)
			cur.CounterLastAt = r.Time().UTC()
		default:
			return fmt.Errorf("unexpected aggregate %q", agg)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := emit(); err != nil {
		return err.(callbackError).err // emit's only error
	}
	return nil
}

// callbackError marks an error returned by a Range callback, so it is passed
// through without InfluxDB context.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// run executes a Flux query and calls fn for every record of every table, as
// they stream in.
func (s *Store) run(ctx context.Context, op, flux string, fn func(*query.FluxRecord) error) error {
	res, err := s.query.Query(ctx, flux)
	if err != nil {
		return fmt.Errorf("influxdb %s: %s: %w", s.url, op, httpError(err))
	}
	defer res.Close()
	for res.Next() {
		if err := fn(res.Record()); err != nil {
			if cb, ok := err.(callbackError); ok {
				return cb.err
			}
			return fmt.Errorf("influxdb %s: %s: %w", s.url, op, err)
		}
	}
	if err := res.Err(); err != nil {
		if ctxErr := context.Cause(ctx); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return fmt.Errorf("influxdb %s: %s: %w", s.url, op, err)
	}
	return nil
}

// source is the start of every query: bucket, time range (open ends replaced
// by wide bounds), q's measurement and series, and the given fields if any.
//
// InfluxDB 1.8 treats range's stop as inclusive, 2.x as exclusive. With
// exclusive set, an explicit filter on _time makes the range [from, to) on
// both; it comes last, so that the range and tag filter still go down to
// storage, but it does keep 1.8 from using its sorted pivot and 2.x from
// pushing aggregates down, so callers that can drop rows at to themselves
// leave it off.
func source(bucket string, q store.Query, from, to time.Time, fields []string, exclusive bool) string {
	if from.IsZero() {
		from = openStart
	}
	if to.IsZero() {
		to = openStop
	}
	var b strings.Builder
	b.WriteString("from(bucket: " + fluxString(bucket) + ")\n")
	b.WriteString("  |> range(start: " + fluxTime(from) + ", stop: " + fluxTime(to) + ")\n")
	b.WriteString("  |> filter(fn: (r) => r._measurement == " + fluxString(q.Measurement))
	for _, c := range [...]struct{ tag, v string }{{"site", q.Site}, {"device", q.Device}, {"meter", q.Meter}} {
		if c.v != "" {
			b.WriteString(" and r." + c.tag + " == " + fluxString(c.v))
		}
	}
	for i, f := range fields {
		if i == 0 {
			b.WriteString(" and (")
		} else {
			b.WriteString(" or ")
		}
		b.WriteString("r._field == " + fluxString(f))
		if i == len(fields)-1 {
			b.WriteString(")")
		}
	}
	b.WriteString(")")
	if exclusive {
		b.WriteString("\n  |> filter(fn: (r) => r._time < " + fluxTime(to) + ")")
	}
	return b.String()
}

// fluxTime formats t as a Flux time literal.
func fluxTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// fluxString quotes v as a Flux string literal. Quotes, backslashes and
// control characters are escaped, and so is every "$": "${" would start an
// interpolation. \x escapes are used where Flux has no named escape; they
// are understood by every Flux version since InfluxDB 1.8.
func fluxString(v string) string {
	b := make([]byte, 0, len(v)+2)
	b = append(b, '"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '$' || c < 0x20 || c == 0x7f:
			b = append(b, `\x`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}

// toSeries reads the tags of a record.
func toSeries(measurement string, r *query.FluxRecord) sample.Series {
	tag := func(k string) string { v, _ := r.ValueByKey(k).(string); return v }
	return sample.Series{
		Measurement: measurement,
		Site:        tag("site"), Room: tag("room"), Rack: tag("rack"), Device: tag("device"),
		Class: tag("class"), Meter: tag("meter"), Source: tag("source"),
	}
}

// toSample turns a pivoted record (one column per field) into a sample with
// its fields in schema order.
func toSample(measurement string, r *query.FluxRecord) (sample.Sample, error) {
	smp := sample.Sample{Series: toSeries(measurement, r), Time: r.Time().UTC()}
	kinds := sample.Schema[measurement]
	for _, name := range sample.FieldNames(measurement) {
		v := r.ValueByKey(name)
		if v == nil {
			continue
		}
		f := sample.Field{Name: name, Kind: kinds[name]}
		var ok bool
		switch f.Kind {
		case sample.Text:
			f.Text, ok = v.(string)
		case sample.Bool:
			var bv bool
			if bv, ok = v.(bool); ok && bv {
				f.Num = 1
			}
		default:
			switch n := v.(type) {
			case float64:
				f.Num, ok = n, true
			case int64: // written by another client as an integer
				f.Num, ok = float64(n), true
			case uint64:
				f.Num, ok = float64(n), true
			}
		}
		if !ok {
			return smp, fmt.Errorf("series %s, %s: field %s has type %T, want %s", smp.Key(), smp.Time.Format(time.RFC3339Nano), name, v, kindName(f.Kind))
		}
		smp.Fields = append(smp.Fields, f)
	}
	return smp, nil
}

func kindName(k sample.Kind) string {
	switch k {
	case sample.Bool:
		return "bool"
	case sample.Text:
		return "string"
	}
	return "float"
}

// compareSeries orders series by measurement, then tag values in the order of
// the tag keys (class, device, meter, rack, room, site, source). That is
// InfluxDB's series key order, in which Range streams, except for tag values
// holding characters that sort below ',' (space, '!', '"', …).
func compareSeries(a, b sample.Series) int {
	return cmp.Or(
		cmp.Compare(a.Measurement, b.Measurement),
		cmp.Compare(a.Class, b.Class), cmp.Compare(a.Device, b.Device),
		cmp.Compare(a.Meter, b.Meter), cmp.Compare(a.Rack, b.Rack),
		cmp.Compare(a.Room, b.Room), cmp.Compare(a.Site, b.Site),
		cmp.Compare(a.Source, b.Source),
	)
}
