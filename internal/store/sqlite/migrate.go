package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations is the ordered list of schema changes: migrations[i] brings the
// database from version i to version i+1. Append only; never edit a released
// entry. Each one runs in its own transaction together with its
// schema_migrations row.
//
// The measurement tables have one column per field of sample.FieldNames, in
// that order (REAL for Float and Bool, TEXT for Text); TestSchemaMatchesSample
// checks that they agree.
var migrations = []string{
	// 1: series and one wide table per measurement.
	`CREATE TABLE series (
		id          INTEGER PRIMARY KEY,
		measurement TEXT NOT NULL,
		site        TEXT NOT NULL,
		room        TEXT NOT NULL,
		rack        TEXT NOT NULL,
		device      TEXT NOT NULL,
		class       TEXT NOT NULL,
		meter       TEXT NOT NULL,
		source      TEXT NOT NULL,
		UNIQUE (measurement, site, room, rack, device, class, meter, source)
	);
	CREATE TABLE power (
		series_id   INTEGER NOT NULL REFERENCES series (id),
		ts          INTEGER NOT NULL, -- unix nanoseconds
		power_w     REAL,
		energy_kwh  REAL,
		voltage_v   REAL,
		current_a   REAL,
		apparent_va REAL,
		load_pct    REAL,
		PRIMARY KEY (series_id, ts)
	) WITHOUT ROWID;
	CREATE TABLE ups (
		series_id          INTEGER NOT NULL REFERENCES series (id),
		ts                 INTEGER NOT NULL,
		battery_charge_pct REAL,
		runtime_min        REAL,
		on_battery         REAL,
		input_w            REAL,
		output_w           REAL,
		PRIMARY KEY (series_id, ts)
	) WITHOUT ROWID;
	CREATE TABLE device (
		series_id   INTEGER NOT NULL REFERENCES series (id),
		ts          INTEGER NOT NULL,
		reachable   REAL,
		poll_ms     REAL,
		power_state TEXT,
		PRIMARY KEY (series_id, ts)
	) WITHOUT ROWID;`,

	// 2: hourly rollups of power (see Compact and Store.Hourly).
	`CREATE TABLE hourly_power (
		series_id         INTEGER NOT NULL REFERENCES series (id),
		hour_ts           INTEGER NOT NULL, -- unix nanoseconds, start of the UTC hour
		power_samples     INTEGER NOT NULL,
		power_mean_w      REAL,             -- NULL when power_samples = 0
		counter_samples   INTEGER NOT NULL,
		counter_first_kwh REAL,             -- NULL when counter_samples = 0
		counter_last_kwh  REAL,
		counter_first_ts  INTEGER,
		counter_last_ts   INTEGER,
		PRIMARY KEY (series_id, hour_ts)
	) WITHOUT ROWID;`,

	// 3: hourly grid carbon intensity per price area (see WriteGrid).
	`CREATE TABLE grid_hourly (
		area      TEXT    NOT NULL,
		hour_ts   INTEGER NOT NULL, -- unix nanoseconds, start of the UTC hour
		g_per_kwh REAL    NOT NULL,
		intervals INTEGER NOT NULL,
		dataset   TEXT    NOT NULL,
		PRIMARY KEY (area, hour_ts)
	) WITHOUT ROWID;`,

	// 4: the asset inventory for embodied emissions (see WriteAssets).
	`CREATE TABLE inventory (
		asset_id       TEXT PRIMARY KEY,
		class          TEXT NOT NULL,
		model          TEXT NOT NULL,
		in_service     TEXT NOT NULL, -- 2006-01-02
		lifetime_years REAL NOT NULL,
		footprint_kg   REAL,          -- NULL: the class default applies
		imported_at    TEXT NOT NULL
	);`,

	// 5: the AC line frequency of a power meter (sample field frequency_hz),
	// appended as the last column, as sample.FieldNames lists it.
	`ALTER TABLE power ADD COLUMN frequency_hz REAL;`,

	// 6: a version of the power samples of each UTC hour, replaced by every
	// write of power samples in it (see SamplesVersions), and the identity
	// of this database, so that figures cached from it are known to be
	// its own; and the hourly aggregates of complete hours whose raw rows
	// are still kept (Materialize). A binary older than this migration
	// refuses the database (SchemaTooNewError), so it cannot write samples
	// without a new version.
	`CREATE TABLE power_versions (
		hour_ts  INTEGER PRIMARY KEY, -- unix nanoseconds, start of the UTC hour
		token    TEXT NOT NULL        -- random
	) WITHOUT ROWID;
	CREATE TABLE store_identity (id TEXT NOT NULL);
	INSERT INTO store_identity (id) VALUES (lower(hex(randomblob(16))));
	-- The hourly aggregates of raw rows that are still kept (see
	-- Materialize): valid for an hour while its version is the one
	-- recorded in hourly_raw_hours.
	CREATE TABLE hourly_raw (
		series_id         INTEGER NOT NULL REFERENCES series (id),
		hour_ts           INTEGER NOT NULL,
		power_samples     INTEGER NOT NULL,
		power_mean_w      REAL,
		counter_samples   INTEGER NOT NULL,
		counter_first_kwh REAL,
		counter_last_kwh  REAL,
		counter_first_ts  INTEGER,
		counter_last_ts   INTEGER,
		PRIMARY KEY (series_id, hour_ts)
	) WITHOUT ROWID;
	CREATE TABLE hourly_raw_hours (
		hour_ts INTEGER PRIMARY KEY, -- an hour whose aggregates are in hourly_raw
		token   TEXT NOT NULL        -- power_versions.token of the hour then ('' without one)
	) WITHOUT ROWID;`,
}

// SchemaTooNewError is returned by Open for a database written by a newer
// binary, whose schema this one does not know.
type SchemaTooNewError struct {
	Version, Known int
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("database schema version %d is newer than this binary knows (%d): upgrade ecometer", e.Version, e.Known)
}

// migrate brings db to version len(list).
func migrate(ctx context.Context, db *sql.DB, list []string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for {
		done, err := migrateNext(ctx, db, list)
		if err != nil || done {
			return err
		}
	}
}

// migrateNext applies the next pending migration, if any, in one
// transaction; it reports done when there is nothing left to apply. The
// version is read inside the write transaction, so two processes opening the
// same database cannot both apply a migration.
func migrateNext(ctx context.Context, db *sql.DB, list []string) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return false, fmt.Errorf("migrate: read version: %w", err)
	}
	switch {
	case v > len(list):
		return false, &SchemaTooNewError{Version: v, Known: len(list)}
	case v == len(list):
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, list[v]); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		v+1, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate to version %d: commit: %w", v+1, err)
	}
	return false, nil
}
