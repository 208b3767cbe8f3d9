package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

const (
	// seriesCols are the series columns every read selects first.
	seriesCols = "s.id, s.measurement, s.site, s.room, s.rack, s.device, s.class, s.meter, s.source"
	// seriesOrder is the order of series in every result (the order of the
	// series table's unique index, so it needs no sort).
	seriesOrder = "s.measurement, s.site, s.room, s.rack, s.device, s.class, s.meter, s.source"
)

// seriesFilter returns the WHERE clause (over series s) and its arguments
// selecting the series of measurement m that match q.
func seriesFilter(m string, q store.Query) (string, []any) {
	where := []string{"s.measurement = ?"}
	args := []any{m}
	for _, c := range []struct{ col, val string }{
		{"s.site", q.Site}, {"s.device", q.Device}, {"s.meter", q.Meter},
	} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	return strings.Join(where, " AND "), args
}

// timeFilter returns the condition on column col (unix ns) for [from, to);
// a zero bound is open.
func timeFilter(col string, from, to time.Time) (string, []any) {
	cond := []string{"1"}
	var args []any
	if !from.IsZero() {
		cond = append(cond, col+" >= ?")
		args = append(args, clampNS(from))
	}
	if !to.IsZero() && !to.After(maxTime) {
		cond = append(cond, col+" < ?")
		args = append(args, clampNS(to))
	}
	return strings.Join(cond, " AND "), args
}

// clampNS returns t in unix nanoseconds, clamped to what int64 holds.
func clampNS(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// fromNS converts stored unix nanoseconds to a UTC time.
func fromNS(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func checkMeasurement(q store.Query) error {
	if q.Measurement == "" {
		return fmt.Errorf("query: empty measurement")
	}
	if _, ok := columns[q.Measurement]; !ok {
		return fmt.Errorf("query: unknown measurement %q", q.Measurement)
	}
	return nil
}

// sampleScanner scans rows of a measurement's table into samples.
type sampleScanner struct {
	m      string
	names  []string
	kinds  []sample.Kind
	nums   []sql.NullFloat64
	texts  []sql.NullString
	ts     int64
	fields []any // scan destinations of ts and the field columns
}

func newSampleScanner(m string) *sampleScanner {
	names := columns[m]
	sc := &sampleScanner{
		m:     m,
		names: names,
		kinds: make([]sample.Kind, len(names)),
		nums:  make([]sql.NullFloat64, len(names)),
		texts: make([]sql.NullString, len(names)),
	}
	sc.fields = append(sc.fields, &sc.ts)
	for i, n := range names {
		sc.kinds[i] = sample.Schema[m][n]
		if sc.kinds[i] == sample.Text {
			sc.fields = append(sc.fields, &sc.texts[i])
		} else {
			sc.fields = append(sc.fields, &sc.nums[i])
		}
	}
	return sc
}

// sample returns the sample last scanned.
func (sc *sampleScanner) sample(ser sample.Series) sample.Sample {
	smp := sample.Sample{Series: ser, Time: fromNS(sc.ts)}
	for i, n := range sc.names {
		switch {
		case sc.kinds[i] == sample.Text && sc.texts[i].Valid:
			smp.Fields = append(smp.Fields, sample.Field{Name: n, Kind: sample.Text, Text: sc.texts[i].String})
		case sc.kinds[i] != sample.Text && sc.nums[i].Valid:
			smp.Fields = append(smp.Fields, sample.Field{Name: n, Kind: sc.kinds[i], Num: sc.nums[i].Float64})
		}
	}
	return smp
}

// seriesDest returns scan destinations for seriesCols.
func seriesDest(id *int64, ser *sample.Series) []any {
	return []any{id, &ser.Measurement, &ser.Site, &ser.Room, &ser.Rack, &ser.Device, &ser.Class, &ser.Meter, &ser.Source}
}

// Latest returns the newest sample of every series that matches q, ordered
// by series (measurement, site, room, rack, device, class, meter, source).
// q.From and q.To are ignored. A series whose raw rows Compact has all
// removed has no latest sample. Times are returned in UTC.
func (s *Store) Latest(ctx context.Context, q store.Query) ([]sample.Sample, error) {
	out, err := s.latest(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: latest %s: %w", s.path, q.Measurement, err)
	}
	return out, nil
}

func (s *Store) latest(ctx context.Context, q store.Query) ([]sample.Sample, error) {
	if err := checkMeasurement(q); err != nil {
		return nil, err
	}
	m := q.Measurement
	where, args := seriesFilter(m, q)
	query := fmt.Sprintf(`SELECT %s, p.ts, p.%s FROM series s JOIN %s p ON p.series_id = s.id
		AND p.ts = (SELECT max(ts) FROM %s WHERE series_id = s.id)
		WHERE %s ORDER BY %s`, seriesCols, strings.Join(columns[m], ", p."), m, m, where, seriesOrder)
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sc := newSampleScanner(m)
	var (
		id  int64
		ser sample.Series
		out []sample.Sample
	)
	dest := append(seriesDest(&id, &ser), sc.fields...)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, sc.sample(ser))
	}
	return out, rows.Err()
}

// Range calls fn for every sample of the series matching q with a time in
// [q.From, q.To) (a zero bound is open), ordered by series (as in Latest),
// then time. Samples are streamed from one consistent snapshot of the
// database; an error from fn stops the iteration and is returned as is.
func (s *Store) Range(ctx context.Context, q store.Query, fn func(sample.Sample) error) error {
	if err := checkMeasurement(q); err != nil {
		return fmt.Errorf("sqlite %s: range %s: %w", s.path, q.Measurement, err)
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite %s: range %s: %w", s.path, q.Measurement, err)
	}
	defer tx.Rollback()
	type seriesRow struct {
		id  int64
		ser sample.Series
	}
	var list []seriesRow
	err = func() error {
		where, args := seriesFilter(q.Measurement, q)
		rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM series s WHERE %s ORDER BY %s`,
			seriesCols, where, seriesOrder), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r seriesRow
			if err := rows.Scan(seriesDest(&r.id, &r.ser)...); err != nil {
				return err
			}
			list = append(list, r)
		}
		return rows.Err()
	}()
	if err != nil {
		return fmt.Errorf("sqlite %s: range %s: series: %w", s.path, q.Measurement, err)
	}
	if len(list) == 0 {
		return nil
	}
	m := q.Measurement
	cond, targs := timeFilter("ts", q.From, q.To)
	stmt, err := tx.PrepareContext(ctx, fmt.Sprintf(`SELECT ts, %s FROM %s WHERE series_id = ? AND %s ORDER BY ts`,
		strings.Join(columns[m], ", "), m, cond))
	if err != nil {
		return fmt.Errorf("sqlite %s: range %s: %w", s.path, m, err)
	}
	defer stmt.Close()
	sc := newSampleScanner(m)
	for _, r := range list {
		errFn, err := rangeSeries(ctx, stmt, append([]any{r.id}, targs...), sc, r.ser, fn)
		if errFn != nil {
			return errFn
		}
		if err != nil {
			return fmt.Errorf("sqlite %s: range %s %s: %w", s.path, m, r.ser.Key(), err)
		}
	}
	return nil
}

// rangeSeries streams one series' rows to fn. It returns fn's error apart from
// its own.
func rangeSeries(ctx context.Context, stmt *sql.Stmt, args []any, sc *sampleScanner,
	ser sample.Series, fn func(sample.Sample) error) (errFn, err error) {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(sc.fields...); err != nil {
			return nil, err
		}
		if err := fn(sc.sample(ser)); err != nil {
			return err, nil
		}
	}
	return nil, rows.Err()
}
