// Package backend opens the store a configuration names: InfluxDB when
// storage.influxdb.url is set, else the embedded SQLite store in
// storage.data_dir. Commands that only read open it read-only, so that a user
// who may read the data but not write it can run them, and so that a typo in
// data_dir is an error instead of a new, empty store.
package backend

import (
	"context"
	"fmt"

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
