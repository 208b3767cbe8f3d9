// Package backend opens the store a configuration names: InfluxDB when
// storage.influxdb.url is set, else the embedded SQLite store in
// storage.data_dir. Commands that only read open it read-only, so that a user
// who may read the data but not write it can run them, and so that a typo in
// data_dir is an error instead of a new, empty store.
package backend

import (
	"context"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/influx"
	"github.com/ecometer/ecometer/internal/store/sqlite"
)

// Store is what commands read and write: samples and grid intensity. Both
// backends implement it.
type Store interface {
	store.Store
	store.GridStore
}

// Mode says whether a command writes.
type Mode int

const (
	// ReadWrite creates and migrates the embedded store as needed.
	ReadWrite Mode = iota
	// ReadOnly opens an existing store and never changes it.
	ReadOnly
)

// SecretError is a secret reference that cannot be read: a configuration
// problem (exit 2), named by its key, never its value.
type SecretError struct {
	Key string
	Err error
}

func (e *SecretError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *SecretError) Unwrap() error { return e.Err }

// Open opens the configured store and describes it in one line for output.
func Open(ctx context.Context, cfg *config.Config, mode Mode) (Store, string, error) {
	st := cfg.Storage
	if st.InfluxDB.Configured() {
		s, err := OpenInflux(cfg)
		if err != nil {
			return nil, "", err
		}
		return s, fmt.Sprintf("InfluxDB at %s, bucket %s", st.InfluxDB.URL, st.InfluxDB.Bucket), nil
	}
	s, err := OpenEmbedded(ctx, cfg, mode)
	if err != nil {
		return nil, "", err
	}
	return s, "embedded SQLite in " + st.DataDir, nil
}

// OpenInflux returns the configured InfluxDB store; it does not contact the
// server (Check does). Without a token it sends none, which InfluxDB 1.8
// without authentication accepts.
func OpenInflux(cfg *config.Config) (*influx.Store, error) {
	in := cfg.Storage.InfluxDB
	var token string
	if !in.Token.IsZero() {
		t, err := in.Token.Resolve()
		if err != nil {
			return nil, &SecretError{Key: "storage.influxdb.token", Err: err}
		}
		token = t
	}
	return influx.New(influx.Options{URL: in.URL, Org: in.Org, Bucket: in.Bucket, Token: token,
		Timeout: in.Timeout.Std(), BatchSize: in.BatchSize})
}

// OpenEmbedded opens the embedded SQLite store in storage.data_dir. It holds
// the samples when no InfluxDB is configured, and always the asset
// inventory.
func OpenEmbedded(ctx context.Context, cfg *config.Config, mode Mode) (*sqlite.Store, error) {
	return sqlite.Open(ctx, sqlite.Options{Path: cfg.Storage.DataDir, RawRetention: cfg.Storage.SQLite.RetentionRaw.Std(),
		ReadOnly: mode == ReadOnly})
}

// Check asks a store whether it can be used: InfluxDB's server, token and
// bucket; the embedded store is checked by opening it.
func Check(ctx context.Context, s Store) error {
	if c, ok := s.(interface{ Check(context.Context) error }); ok {
		return c.Check(ctx)
	}
	return nil
}

// RollupsDue reports whether the configured store keeps hourly rollups that
// the service's rollup job must bring up to date: InfluxDB 1.x (no
// organisation). The embedded store materializes its hours in its own
// compaction; InfluxDB 2.x is read from the raw points.
func RollupsDue(cfg *config.Config) bool {
	in := cfg.Storage.InfluxDB
	return in.Configured() && in.Org == ""
}

// rollupYears is how far back Rollups goes at most.
const rollupYears = 12

// Rollups brings InfluxDB's hourly rollups up to date for every hour from
// the first power sample to the last that ended influx.RollupSettle before
// now (see internal/store/influx/rollup.go); progress, when not nil,
// follows Materialize. The first run on a store that holds history
// aggregates all of it, about a second per hour at 5,000 meters; later
// runs only the hours that ended since, and those written to again.
func Rollups(ctx context.Context, cfg *config.Config, now time.Time, progress func(done, total int)) (influx.MaterializeResult, error) {
	st, err := OpenInflux(cfg)
	if err != nil {
		return influx.MaterializeResult{}, err
	}
	defer st.Close()
	span, ok, err := st.PowerSpan(ctx)
	if err != nil || !ok {
		return influx.MaterializeResult{}, err
	}
	// A device clock that was once far off must not make the job walk
	// decades of empty hours: nothing before the target path's years is
	// read.
	from := span.First.Truncate(time.Hour)
	if oldest := now.AddDate(-rollupYears, 0, 0); from.Before(oldest) {
		from = oldest
	}
	return st.Materialize(ctx, from, now.Add(-influx.RollupSettle), progress)
}
