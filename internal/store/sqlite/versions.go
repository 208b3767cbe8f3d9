package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/internal/store"
)

var _ store.SampleVersioner = (*Store)(nil)

// markVersionSQL gives a UTC month of power samples a new version.
const markVersionSQL = `INSERT INTO power_versions (month_ts, token) VALUES (?, lower(hex(randomblob(12))))
	ON CONFLICT (month_ts) DO UPDATE SET token = excluded.token`

// monthStart is the start of t's UTC month in unix nanoseconds.
func monthStart(t time.Time) int64 {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).UnixNano()
}

// versionMarks collects the UTC months a write transaction puts power
// samples in.
type versionMarks struct {
	months []int64
	lo, hi int64 // the month of the last sample added: [lo, hi) in ns
}

func (v *versionMarks) add(t time.Time) {
	ns := t.UnixNano()
	if len(v.months) > 0 && ns >= v.lo && ns < v.hi {
		return
	}
	v.lo = monthStart(t)
	v.hi = time.Unix(0, v.lo).UTC().AddDate(0, 1, 0).UnixNano()
	for _, x := range v.months {
		if x == v.lo {
			return
		}
	}
	v.months = append(v.months, v.lo)
}

// mark gives the months new versions inside the write transaction, so that
// a reader sees the samples and their version change together.
func (v *versionMarks) mark(ctx context.Context, tx *sql.Tx) error {
	for _, m := range v.months {
		if _, err := tx.ExecContext(ctx, markVersionSQL, m); err != nil {
			return fmt.Errorf("version of %s: %w", fromNS(m).Format("2006-01"), err)
		}
	}
	return nil
}

// SamplesVersions returns the version of every UTC month's power samples:
// Write and WriteHourly replace it, in the same transaction, for every month
// they write power samples in (Compact, which rolls samples up without
// changing any aggregate, leaves it). A month missing from the map has had
// no write since the database got versions (migration 6).
func (s *Store) SamplesVersions(ctx context.Context) (store.SampleVersions, error) {
	v := store.SampleVersions{Months: map[time.Time]string{}}
	if err := s.rdb.QueryRowContext(ctx, `SELECT id FROM store_identity`).Scan(&v.Store); err != nil {
		return v, fmt.Errorf("sqlite %s: sample versions: identity: %w", s.path, err)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT month_ts, token FROM power_versions`)
	if err != nil {
		return v, fmt.Errorf("sqlite %s: sample versions: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			m     int64
			token string
		)
		if err := rows.Scan(&m, &token); err != nil {
			return v, fmt.Errorf("sqlite %s: sample versions: %w", s.path, err)
		}
		v.Months[fromNS(m)] = token
	}
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("sqlite %s: sample versions: %w", s.path, err)
	}
	return v, nil
}
