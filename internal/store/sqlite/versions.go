package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/internal/store"
)

var _ store.SampleVersioner = (*Store)(nil)

// markVersionSQL gives a UTC day of power samples a new version.
const markVersionSQL = `INSERT INTO power_versions (day_ts, token) VALUES (?, lower(hex(randomblob(12))))
	ON CONFLICT (day_ts) DO UPDATE SET token = excluded.token`

const dayNS = 24 * hourNS

// versionMarks collects the UTC days a write transaction puts power
// samples in.
type versionMarks []int64

func (v *versionMarks) add(t time.Time) {
	ns := t.UnixNano()
	day := ns - ((ns%dayNS)+dayNS)%dayNS
	if n := len(*v); n > 0 && (*v)[n-1] == day {
		return // the common case: a batch of one poll round
	}
	for _, x := range *v {
		if x == day {
			return
		}
	}
	*v = append(*v, day)
}

// mark gives the days new versions inside the write transaction, so that
// a reader sees the samples and their version change together.
func (v versionMarks) mark(ctx context.Context, tx *sql.Tx) error {
	for _, d := range v {
		if _, err := tx.ExecContext(ctx, markVersionSQL, d); err != nil {
			return fmt.Errorf("version of %s: %w", fromNS(d).Format("2006-01-02"), err)
		}
	}
	return nil
}

// SamplesVersions returns the version of every UTC day's power samples:
// Write and WriteHourly replace it, in the same transaction, for every day
// they write power samples in (Compact, which rolls samples up without
// changing any aggregate, leaves it). A day missing from the map has had no
// write since the database got versions (migration 6).
func (s *Store) SamplesVersions(ctx context.Context) (store.SampleVersions, error) {
	v := store.SampleVersions{Days: map[time.Time]string{}}
	if err := s.rdb.QueryRowContext(ctx, `SELECT id FROM store_identity`).Scan(&v.Store); err != nil {
		return v, fmt.Errorf("sqlite %s: sample versions: identity: %w", s.path, err)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT day_ts, token FROM power_versions`)
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
		v.Days[fromNS(m)] = token
	}
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("sqlite %s: sample versions: %w", s.path, err)
	}
	return v, nil
}
