package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Materialized hourly aggregates.
//
// Reading a month of raw rows means aggregating them (≈ 0.5 µs a row: a
// month of 5,000 meters polled every minute is 220 M rows), and raw rows are
// kept for RawRetention (90 days by default), so the month a report is
// made for is always raw. Materialize therefore stores the aggregates of
// every complete hour whose raw rows are kept in hourly_raw, once, and
// HourlyEach reads them instead of the raw rows, for the hours where they
// are still what aggregating the raw rows would give:
//
//   - an hour is materialized in one write transaction (so no write can
//     come between reading its raw rows and recording them), together with
//     the hour's version (power_versions, which every write of power
//     samples replaces in its own transaction) in hourly_raw_hours;
//   - an hour is used only while its version is the one recorded: a late
//     sample, an overwrite or rollups written for it make the hour raw
//     again, for every series, until it is materialized again.
//
// Compact, which the service runs every hour, materializes the hours that
// have ended since (and those made raw again). When it rolls raw rows up
// into hourly_power it removes their hours from hourly_raw in the same
// transaction.

// materializeSQL stores the aggregates of every power series' raw rows in
// the hour [?1, ?2). The series are the outer loop, so every range is read
// through the primary key (series_id, ts).
var materializeSQL = `INSERT INTO hourly_raw (series_id, hour_ts, power_samples, power_mean_w,
		counter_samples, counter_first_kwh, counter_last_kwh, counter_first_ts, counter_last_ts)
	SELECT * FROM (` + aggSQL("p.series_id IN (SELECT id FROM series WHERE measurement = 'power') AND p.ts >= ?1 AND p.ts < ?2") + `) WHERE 1`

// validHoursSQL lists the materialized hours in [?1, ?2) whose version has
// not changed since.
const validHoursSQL = `SELECT h.hour_ts FROM hourly_raw_hours h
	LEFT JOIN power_versions v ON v.hour_ts = h.hour_ts
	WHERE h.hour_ts >= ?1 AND h.hour_ts < ?2 AND h.token = coalesce(v.token, '')
	ORDER BY h.hour_ts`

// Materialize stores the hourly aggregates of every complete hour (ended by
// Now) whose raw rows are kept and that is not materialized at its current
// version, one hour per transaction. Compact calls it; it is exported for
// loading history in bulk and for benchmarks.
func (s *Store) Materialize(ctx context.Context) error {
	if err := s.writable(); err != nil {
		return fmt.Errorf("sqlite %s: materialize: %w", s.path, err)
	}
	cutoff := s.now().Add(-s.retention).Truncate(time.Hour)
	if err := s.materialize(ctx, clampNS(cutoff), hourOf(clampNS(s.now()))); err != nil {
		return fmt.Errorf("sqlite %s: materialize: %w", s.path, err)
	}
	return nil
}

// materialize does Materialize for the hours in [cutoff, end).
func (s *Store) materialize(ctx context.Context, cutoff, end int64) error {
	// The first hour with raw rows, through the primary key per series.
	var first sql.NullInt64
	if err := s.wdb.QueryRowContext(ctx, `SELECT min((SELECT min(ts) FROM power WHERE series_id = s.id))
		FROM series s WHERE s.measurement = 'power'`).Scan(&first); err != nil {
		return fmt.Errorf("first raw row: %w", err)
	}
	if !first.Valid {
		return nil
	}
	lo := max(cutoff, hourOf(first.Int64))
	if lo >= end {
		return nil
	}
	valid := map[int64]bool{}
	rows, err := s.wdb.QueryContext(ctx, validHoursSQL, lo, end)
	if err != nil {
		return err
	}
	for rows.Next() {
		var h int64
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return err
		}
		valid[h] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for h := lo; h < end; h += hourNS {
		if valid[h] {
			continue
		}
		if err := s.materializeHour(ctx, h); err != nil {
			return fmt.Errorf("hour %s: %w", fromNS(h).Format(time.RFC3339), err)
		}
	}
	return nil
}

// materializeHour stores the aggregates of the hour starting at h and the
// hour's version, in one transaction.
func (s *Store) materializeHour(ctx context.Context, h int64) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var token string
	switch err := tx.QueryRowContext(ctx, `SELECT token FROM power_versions WHERE hour_ts = ?`, h).Scan(&token); err {
	case nil, sql.ErrNoRows:
	default:
		return fmt.Errorf("version: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM hourly_raw
		WHERE series_id IN (SELECT id FROM series WHERE measurement = 'power') AND hour_ts = ?`, h); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if _, err := tx.ExecContext(ctx, materializeSQL, h, h+hourNS); err != nil {
		return fmt.Errorf("aggregate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO hourly_raw_hours (hour_ts, token) VALUES (?, ?)
		ON CONFLICT (hour_ts) DO UPDATE SET token = excluded.token`, h, token); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return tx.Commit()
}
