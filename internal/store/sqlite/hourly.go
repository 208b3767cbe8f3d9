package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

const hourNS = int64(time.Hour)

// compactSpan is the most raw time of one series that one Compact
// transaction rolls up and deletes.
const compactSpan = 7 * 24 * time.Hour

// aggSQL returns the hourly aggregation of the raw power rows p that satisfy
// filter, one row per series and UTC hour, with the columns of hourly_power:
// series id, hour start, power_w count and mean, energy_kwh count, first and
// last energy_kwh and their times. Rows with neither power_w nor energy_kwh do
// not count. Compact stores exactly these values, so Hourly answers the same
// before and after a compaction.
func aggSQL(filter string) string {
	return fmt.Sprintf(`SELECT g.sid, g.hour, g.pn, g.pm, g.cn,
		(SELECT energy_kwh FROM power WHERE series_id = g.sid AND ts = g.fa),
		(SELECT energy_kwh FROM power WHERE series_id = g.sid AND ts = g.la),
		g.fa, g.la
	FROM (
		SELECT p.series_id AS sid,
			p.ts - ((p.ts %% %[1]d) + %[1]d) %% %[1]d AS hour,
			count(p.power_w) AS pn,
			avg(p.power_w) AS pm,
			count(p.energy_kwh) AS cn,
			min(CASE WHEN p.energy_kwh IS NOT NULL THEN p.ts END) AS fa,
			max(CASE WHEN p.energy_kwh IS NOT NULL THEN p.ts END) AS la
		FROM power p
		WHERE (p.power_w IS NOT NULL OR p.energy_kwh IS NOT NULL) AND %[2]s
		GROUP BY p.series_id, hour
	) g`, hourNS, filter)
}

// rollupSQL rolls raw power rows of one series (?1) before a time (?2) into
// hourly_power. An hour already rolled up (raw rows that arrived after its
// compaction) is merged into: counts add up, the mean is weighted, first and
// last keep the earliest and latest counter reading (the rollup's on a tie).
// hourly.merge does the same in Go.
var rollupSQL = `INSERT INTO hourly_power (series_id, hour_ts, power_samples, power_mean_w,
		counter_samples, counter_first_kwh, counter_last_kwh, counter_first_ts, counter_last_ts)
	SELECT * FROM (` + aggSQL("p.series_id = ?1 AND p.ts < ?2") + `) WHERE 1
	ON CONFLICT (series_id, hour_ts) DO UPDATE SET
		power_mean_w = CASE
			WHEN excluded.power_samples = 0 THEN power_mean_w
			WHEN power_samples = 0 THEN excluded.power_mean_w
			ELSE (power_mean_w * power_samples + excluded.power_mean_w * excluded.power_samples)
				/ (power_samples + excluded.power_samples) END,
		power_samples = power_samples + excluded.power_samples,
		counter_first_kwh = CASE WHEN excluded.counter_samples > 0 AND
			(counter_samples = 0 OR excluded.counter_first_ts < counter_first_ts)
			THEN excluded.counter_first_kwh ELSE counter_first_kwh END,
		counter_first_ts = CASE WHEN excluded.counter_samples > 0 AND
			(counter_samples = 0 OR excluded.counter_first_ts < counter_first_ts)
			THEN excluded.counter_first_ts ELSE counter_first_ts END,
		counter_last_kwh = CASE WHEN excluded.counter_samples > 0 AND
			(counter_samples = 0 OR excluded.counter_last_ts > counter_last_ts)
			THEN excluded.counter_last_kwh ELSE counter_last_kwh END,
		counter_last_ts = CASE WHEN excluded.counter_samples > 0 AND
			(counter_samples = 0 OR excluded.counter_last_ts > counter_last_ts)
			THEN excluded.counter_last_ts ELSE counter_last_ts END,
		counter_samples = counter_samples + excluded.counter_samples`

// Hourly returns per-meter aggregates of the power measurement for every UTC
// hour that overlaps [q.From, q.To) (a zero bound is open), ordered by series
// (as in Latest), then hour. Each aggregate covers its whole hour. Hours
// still in raw rows are aggregated on the fly; older ones come from the
// rollups Compact made, with the same values. q.Measurement is ignored.
// It collects what HourlyEach streams.
func (s *Store) Hourly(ctx context.Context, q store.Query) ([]store.Hourly, error) {
	var out []store.Hourly
	if err := s.HourlyEach(ctx, q, func(h store.Hourly) error {
		out = append(out, h)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// merge combines the aggregate of late raw rows into the rollup of the same
// hour exactly as rollupSQL does.
func merge(raw, rolled store.Hourly) store.Hourly {
	out := rolled
	switch {
	case raw.PowerSamples == 0:
	case rolled.PowerSamples == 0:
		out.PowerMeanW = raw.PowerMeanW
	default:
		// float64() keeps the products from being fused into an FMA, which
		// SQLite does not do.
		a := float64(rolled.PowerMeanW * float64(rolled.PowerSamples))
		b := float64(raw.PowerMeanW * float64(raw.PowerSamples))
		out.PowerMeanW = (a + b) / float64(rolled.PowerSamples+raw.PowerSamples)
	}
	out.PowerSamples += raw.PowerSamples
	if raw.CounterSamples > 0 {
		if rolled.CounterSamples == 0 || raw.CounterFirstAt.Before(rolled.CounterFirstAt) {
			out.CounterFirstKWh, out.CounterFirstAt = raw.CounterFirstKWh, raw.CounterFirstAt
		}
		if rolled.CounterSamples == 0 || raw.CounterLastAt.After(rolled.CounterLastAt) {
			out.CounterLastKWh, out.CounterLastAt = raw.CounterLastKWh, raw.CounterLastAt
		}
	}
	out.CounterSamples += raw.CounterSamples
	return out
}

// Compact applies the raw retention: every complete UTC hour that ended
// RawRetention or longer before Now is rolled up into hourly_power (power)
// and its raw rows are deleted (all measurements; ups and device keep no
// rollup). It works one series and at most a week of raw data per
// transaction, so writers are held up only briefly; an interrupted Compact
// leaves a consistent database and the next one carries on.
//
// Raw rows that arrive for an hour already rolled up are merged into the
// rollup by the next Compact; one that repeats a time already rolled up is
// then counted twice (the rollup no longer knows the times it holds).
//
// Then it materializes the complete hours still raw (see Materialize).
func (s *Store) Compact(ctx context.Context) error {
	if err := s.writable(); err != nil {
		return fmt.Errorf("sqlite %s: compact: %w", s.path, err)
	}
	cutoff := s.now().Add(-s.retention).Truncate(time.Hour)
	if err := s.compact(ctx, clampNS(cutoff)); err != nil {
		return fmt.Errorf("sqlite %s: compact: %w", s.path, err)
	}
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM hourly_raw_hours WHERE hour_ts < ?`, clampNS(cutoff)); err != nil {
		return fmt.Errorf("sqlite %s: compact: %w", s.path, err)
	}
	if err := s.materialize(ctx, clampNS(cutoff), hourOf(clampNS(s.now()))); err != nil {
		return fmt.Errorf("sqlite %s: materialize: %w", s.path, err)
	}
	return nil
}

func (s *Store) compact(ctx context.Context, cutoff int64) error {
	type seriesRow struct {
		id int64
		m  string
	}
	var list []seriesRow
	err := func() error {
		rows, err := s.wdb.QueryContext(ctx, `SELECT id, measurement FROM series ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r seriesRow
			if err := rows.Scan(&r.id, &r.m); err != nil {
				return err
			}
			list = append(list, r)
		}
		return rows.Err()
	}()
	if err != nil {
		return fmt.Errorf("series: %w", err)
	}
	for _, r := range list {
		if _, ok := columns[r.m]; !ok {
			continue
		}
		for {
			done, err := s.compactChunk(ctx, r.id, r.m, cutoff)
			if err != nil {
				return fmt.Errorf("series %d (%s): %w", r.id, r.m, err)
			}
			if done {
				break
			}
		}
	}
	return nil
}

// compactChunk rolls up and deletes the oldest raw rows of one series, up to
// compactSpan of them, in one transaction. It reports done when the series
// has no raw rows before cutoff.
func (s *Store) compactChunk(ctx context.Context, id int64, m string, cutoff int64) (done bool, err error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var first sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(ts) FROM `+m+` WHERE series_id = ?`, id).Scan(&first); err != nil {
		return false, err
	}
	if !first.Valid || first.Int64 >= cutoff {
		return true, nil
	}
	end := cutoff
	if span := int64(compactSpan); first.Int64 < cutoff-span {
		end = first.Int64 - ((first.Int64%hourNS)+hourNS)%hourNS + span
	}
	if m == sample.Power {
		if _, err := tx.ExecContext(ctx, rollupSQL, id, end); err != nil {
			return false, fmt.Errorf("roll up: %w", err)
		}
		// Rolled up: its materialized hours go with the raw rows.
		if _, err := tx.ExecContext(ctx, `DELETE FROM hourly_raw WHERE series_id = ? AND hour_ts < ?`, id, end); err != nil {
			return false, fmt.Errorf("delete materialized hours: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+m+` WHERE series_id = ? AND ts < ?`, id, end); err != nil {
		return false, fmt.Errorf("delete raw rows: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return end == cutoff, nil
}
