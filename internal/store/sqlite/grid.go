package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/internal/store"
)

var _ store.GridStore = (*Store)(nil)

// WriteGrid stores grid intensity in one transaction: all hours or none.
// An area and hour already stored is replaced (idempotent re-import).
func (s *Store) WriteGrid(ctx context.Context, hours []store.GridHour) error {
	for i, h := range hours {
		if err := store.ValidateGridHour(h); err != nil {
			return fmt.Errorf("sqlite %s: write grid: %w",
				s.path, &store.RejectedError{Err: fmt.Errorf("hour %d of %d: %w", i, len(hours), err)})
		}
	}
	if len(hours) == 0 {
		return nil
	}
	if err := s.writable(); err != nil {
		return fmt.Errorf("sqlite %s: write grid: %w", s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sqlite %s: write grid: %w", s.path, errClosed)
	}
	if err := s.writeGrid(ctx, hours); err != nil {
		return fmt.Errorf("sqlite %s: write grid: %w", s.path, err)
	}
	return nil
}

func (s *Store) writeGrid(ctx context.Context, hours []store.GridHour) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO grid_hourly (area, hour_ts, g_per_kwh, intervals, dataset)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (area, hour_ts) DO UPDATE SET
		g_per_kwh = excluded.g_per_kwh, intervals = excluded.intervals, dataset = excluded.dataset`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, h := range hours {
		if _, err := st.ExecContext(ctx, h.Area, h.Hour.UnixNano(), h.GramsPerKWh, h.Intervals, h.Dataset); err != nil {
			return fmt.Errorf("%s %s: %w", h.Area, h.Hour.UTC().Format(time.RFC3339), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// GridHours returns area's stored hours in [from, to), ordered by hour.
func (s *Store) GridHours(ctx context.Context, area string, from, to time.Time) ([]store.GridHour, error) {
	cond, args := timeFilter("hour_ts", from, to)
	rows, err := s.rdb.QueryContext(ctx, `SELECT hour_ts, g_per_kwh, intervals, dataset FROM grid_hourly
		WHERE area = ? AND `+cond+` ORDER BY hour_ts`, append([]any{area}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: grid hours %s: %w", s.path, area, err)
	}
	defer rows.Close()
	var out []store.GridHour
	for rows.Next() {
		h := store.GridHour{Area: area}
		var ns int64
		if err := rows.Scan(&ns, &h.GramsPerKWh, &h.Intervals, &h.Dataset); err != nil {
			return nil, fmt.Errorf("sqlite %s: grid hours %s: %w", s.path, area, err)
		}
		h.Hour = time.Unix(0, ns).UTC()
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite %s: grid hours %s: %w", s.path, area, err)
	}
	return out, nil
}
