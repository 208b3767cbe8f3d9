package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/internal/store"
)

var _ store.SampleVersioner = (*Store)(nil)

// markVersionSQL gives a UTC hour of power samples a new version.
const markVersionSQL = `INSERT INTO power_versions (hour_ts, token) VALUES (?, lower(hex(randomblob(12))))
	ON CONFLICT (hour_ts) DO UPDATE SET token = excluded.token`

// hourOf is the start of the UTC hour of ns.
func hourOf(ns int64) int64 { return ns - ((ns%hourNS)+hourNS)%hourNS }

// versionMarks collects the UTC hours a write transaction puts power
// samples in.
type versionMarks struct {
	last  int64 // the hour of the last sample added, when any
	hours map[int64]bool
}

func (v *versionMarks) add(t time.Time) {
	hour := hourOf(t.UnixNano())
	if v.hours == nil {
		v.hours = map[int64]bool{}
	} else if hour == v.last {
		return // the common case: a batch of one poll round
	}
	v.last = hour
	v.hours[hour] = true
}

// mark gives the hours new versions inside the write transaction, so that
// a reader sees the samples and their version change together.
func (v *versionMarks) mark(ctx context.Context, tx *sql.Tx) error {
	if len(v.hours) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, markVersionSQL)
	if err != nil {
		return fmt.Errorf("versions: %w", err)
	}
	defer st.Close()
	for h := range v.hours {
		if _, err := st.ExecContext(ctx, h); err != nil {
			return fmt.Errorf("version of %s: %w", fromNS(h).Format(time.RFC3339), err)
		}
	}
	return nil
}

// SamplesVersions returns the version of every UTC hour's power samples:
// Write and WriteHourly replace it, in the same transaction, for every hour
// they write power samples in (Compact, which rolls samples up without
// changing any aggregate, leaves it). An hour missing from the map has had
// no write since the database got versions (migration 6).
func (s *Store) SamplesVersions(ctx context.Context) (store.SampleVersions, error) {
	v := store.SampleVersions{Hours: map[time.Time]string{}}
	if err := s.rdb.QueryRowContext(ctx, `SELECT id FROM store_identity`).Scan(&v.Store); err != nil {
		return v, fmt.Errorf("sqlite %s: sample versions: identity: %w", s.path, err)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT hour_ts, token FROM power_versions`)
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
		v.Hours[fromNS(m)] = token
	}
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("sqlite %s: sample versions: %w", s.path, err)
	}
	return v, nil
}
