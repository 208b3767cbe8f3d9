package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

var _ store.Spanner = (*Store)(nil)

// spanSQL bounds the power samples, raw rows and rollups, per series
// through the primary keys (series_id, ts) and (series_id, hour_ts): two
// index lookups per series and table, where min(ts) over the table would
// scan it. A rollup counts as its whole hour.
var spanSQL = `SELECT min(f), max(l) FROM (
	SELECT (SELECT min(ts) FROM power WHERE series_id = s.id) AS f,
		(SELECT max(ts) FROM power WHERE series_id = s.id) AS l
	FROM series s WHERE s.measurement = ?1
	UNION ALL
	SELECT (SELECT min(hour_ts) FROM hourly_power WHERE series_id = s.id),
		(SELECT max(hour_ts) FROM hourly_power WHERE series_id = s.id) + ` + fmt.Sprint(hourNS-1) + `
	FROM series s WHERE s.measurement = ?1)`

// PowerSpan bounds the times of the stored power samples (see store.Span).
// Rows of any field count, which may only widen the bounds.
func (s *Store) PowerSpan(ctx context.Context) (store.Span, bool, error) {
	var first, last sql.NullInt64
	if err := s.rdb.QueryRowContext(ctx, spanSQL, sample.Power).Scan(&first, &last); err != nil {
		return store.Span{}, false, fmt.Errorf("sqlite %s: power span: %w", s.path, err)
	}
	if !first.Valid || !last.Valid {
		return store.Span{}, false, nil
	}
	return store.Span{First: fromNS(first.Int64), Last: fromNS(last.Int64)}, true, nil
}
