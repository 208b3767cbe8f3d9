package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// hourlyRowsPerInsert is how many aggregates one multi-row INSERT of
// WriteHourly carries (9 parameters each), as rowsPerInsert does for Write;
// 400 loaded no faster in BenchmarkWriteHourly.
const hourlyRowsPerInsert = 100

// hourlyCols is the number of hourly_power columns.
const hourlyCols = 9

// insertHourlySQL returns the INSERT of n rows into hourly_power; a row that
// exists (same series and hour) is replaced.
func insertHourlySQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO hourly_power (series_id, hour_ts, power_samples, power_mean_w,
		counter_samples, counter_first_kwh, counter_last_kwh, counter_first_ts, counter_last_ts) VALUES `)
	row := "(" + strings.Repeat("?,", hourlyCols-1) + "?)"
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	b.WriteString(` ON CONFLICT (series_id, hour_ts) DO UPDATE SET
		power_samples = excluded.power_samples, power_mean_w = excluded.power_mean_w,
		counter_samples = excluded.counter_samples,
		counter_first_kwh = excluded.counter_first_kwh, counter_last_kwh = excluded.counter_last_kwh,
		counter_first_ts = excluded.counter_first_ts, counter_last_ts = excluded.counter_last_ts`)
	return b.String()
}

// validateHourly checks an aggregate before WriteHourly stores it.
func validateHourly(h *store.Hourly) error {
	if h.Series.Measurement != sample.Power {
		return fmt.Errorf("measurement %q: hourly aggregates are of %s", h.Series.Measurement, sample.Power)
	}
	if h.Series.Device == "" {
		return fmt.Errorf("empty device tag")
	}
	if h.Hour.Before(minTime) || !h.Hour.Add(time.Hour).Before(maxTime) {
		return fmt.Errorf("hour %v outside %d..%d", h.Hour, minTime.Year(), maxTime.Year())
	}
	if h.Hour.UnixNano()%hourNS != 0 {
		return fmt.Errorf("hour %v does not start a UTC hour", h.Hour)
	}
	if h.PowerSamples < 0 || h.CounterSamples < 0 {
		return fmt.Errorf("hour %v: negative sample count", h.Hour)
	}
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	if bad(h.PowerMeanW) {
		return fmt.Errorf("hour %v: mean power %v", h.Hour, h.PowerMeanW)
	}
	if h.CounterSamples > 0 {
		if bad(h.CounterFirstKWh) || bad(h.CounterLastKWh) {
			return fmt.Errorf("hour %v: counter %v..%v", h.Hour, h.CounterFirstKWh, h.CounterLastKWh)
		}
		end := h.Hour.Add(time.Hour)
		if h.CounterFirstAt.Before(h.Hour) || h.CounterLastAt.Before(h.CounterFirstAt) || !h.CounterLastAt.Before(end) {
			return fmt.Errorf("hour %v: counter readings at %v..%v, want first ≤ last within the hour",
				h.Hour, h.CounterFirstAt, h.CounterLastAt)
		}
	}
	return nil
}

// WriteHourly stores hourly aggregates of power straight into the rollup
// table, as Compact leaves them behind: for bulk loads (moving history from
// another system, benchmarks). All rows go in one transaction, or none: an
// invalid row refuses the whole call with a *store.RejectedError naming it.
// A row for a series and hour already rolled up replaces it; raw rows of the
// same hour are merged in when read, as for Compact's rollups. Mean power is
// stored as NULL when PowerSamples is 0 and the counter fields when
// CounterSamples is 0, as Compact does. Callers loading millions of rows pass
// them in chunks (tens of thousands per call).
func (s *Store) WriteHourly(ctx context.Context, rows []store.Hourly) error {
	for i := range rows {
		if err := validateHourly(&rows[i]); err != nil {
			return fmt.Errorf("sqlite %s: write hourly: %w", s.path, &store.RejectedError{
				Err: fmt.Errorf("row %d of %d (%s): %w", i, len(rows), rows[i].Series.Key(), err)})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := s.writable(); err != nil {
		return fmt.Errorf("sqlite %s: write hourly: %w", s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sqlite %s: write hourly: %w", s.path, errClosed)
	}
	if err := s.writeHourly(ctx, rows); err != nil {
		return fmt.Errorf("sqlite %s: write hourly: %w", s.path, err)
	}
	return nil
}

func (s *Store) writeHourly(ctx context.Context, rows []store.Hourly) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ids := &seriesIDs{s: s, ctx: ctx, tx: tx}
	sids := make([]int64, len(rows))
	order := make([]int, len(rows))
	for i := range rows {
		if sids[i], err = ids.id(rows[i].Series); err != nil {
			return err
		}
		order[i] = i
	}
	// Key order touches each B-tree page once; the stable sort keeps the
	// last of two rows for the same series and hour last, so it wins.
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(sids[a], sids[b]), rows[a].Hour.Compare(rows[b].Hour))
	})

	var one, multi *sql.Stmt
	prep := func(n int) (*sql.Stmt, error) {
		st, err := tx.PrepareContext(ctx, insertHourlySQL(n))
		if err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		return st, nil
	}
	if len(rows) >= hourlyRowsPerInsert {
		if multi, err = prep(hourlyRowsPerInsert); err != nil {
			return err
		}
		defer multi.Close()
	}
	if len(rows)%hourlyRowsPerInsert != 0 {
		if one, err = prep(1); err != nil {
			return err
		}
		defer one.Close()
	}
	var marks versionMarks
	for i := range rows {
		marks.add(rows[i].Hour)
	}
	if err := marks.mark(ctx, tx); err != nil {
		return err
	}
	args := make([]any, 0, hourlyCols*hourlyRowsPerInsert)
	for start := 0; start < len(order); {
		st, n := multi, hourlyRowsPerInsert
		if len(order)-start < n {
			st, n = one, 1 // the remainder, row by row
		}
		args = args[:0]
		for _, i := range order[start : start+n] {
			args = appendHourlyArgs(args, sids[i], &rows[i])
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		start += n
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	ids.committed()
	return nil
}

// appendHourlyArgs appends the hourly_power columns of h.
func appendHourlyArgs(args []any, sid int64, h *store.Hourly) []any {
	var pm, fv, lv, fa, la any
	if h.PowerSamples > 0 {
		pm = h.PowerMeanW
	}
	if h.CounterSamples > 0 {
		fv, lv = h.CounterFirstKWh, h.CounterLastKWh
		fa, la = h.CounterFirstAt.UnixNano(), h.CounterLastAt.UnixNano()
	}
	return append(args, sid, h.Hour.UnixNano(), int64(h.PowerSamples), pm,
		int64(h.CounterSamples), fv, lv, fa, la)
}
