// Package sqlite is the embedded default store: a single SQLite file
// (modernc.org/sqlite, pure Go) whose schema mirrors the InfluxDB data model of
// DESIGN.md. It implements store.Store.
//
// Layout: a series table holds one row per measurement and tag set; one wide
// table per measurement (power, ups, device) holds one row per series and time
// with one nullable column per field; hourly_power holds the hourly rollups of
// power that Compact produces for raw rows older than the raw retention.
//
// Writes go through one connection (SQLite has a single writer); reads use a
// separate pool of connections, which WAL mode lets run alongside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ecometer/ecometer/internal/seriesindex"
	"github.com/ecometer/ecometer/internal/store"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the name of the database file inside Options.Path.
const FileName = "ecometer.db"

// DefaultRawRetention is how long raw samples are kept when
// Options.RawRetention is zero.
const DefaultRawRetention = 90 * 24 * time.Hour

// Options configure Open.
type Options struct {
	// Path is the directory that holds the database file (Path/ecometer.db).
	// It is created if missing.
	Path string
	// RawRetention is how long raw samples are kept before Compact rolls power
	// up into hourly aggregates and deletes them (DefaultRawRetention when 0).
	RawRetention time.Duration
	// Now returns the current time (time.Now when nil); tests set it.
	Now func() time.Time
	// ReadOnly opens an existing database for reading only: nothing is
	// created or migrated, every write fails with ErrReadOnly, and a user
	// who may read the files but not write them can use it. A missing
	// database is an error wrapping fs.ErrNotExist.
	ReadOnly bool
}

// ErrReadOnly is returned by every write to a store opened read-only.
var ErrReadOnly = errors.New("store opened read-only")

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	path      string // database file
	retention time.Duration
	now       func() time.Time

	wdb *sql.DB // the single writer connection
	rdb *sql.DB // readers

	mu     sync.Mutex                // serialises Write and Close; guards the fields below
	closed bool                      // Close was called
	series *seriesindex.Index[int64] // series ids known to be committed
	ins    map[string]*insertStmts   // by measurement
	// readOnly: wdb is nil; immutable: the database is opened without
	// locking because this user cannot create its -shm file and no writer
	// has it open (see openReadOnly).
	readOnly, immutable bool
	selSer              *sql.Stmt
	insSer              *sql.Stmt
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database in opts.Path and migrates its
// schema to the latest version.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	if opts.RawRetention < 0 {
		return nil, fmt.Errorf("sqlite %s: open: negative raw retention %v", opts.Path, opts.RawRetention)
	}
	// The driver's file: URI needs an absolute path (a relative one would be
	// taken from the root).
	abs, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: open: %w", opts.Path, err)
	}
	file := filepath.Join(abs, FileName)
	s := &Store{
		path:      file,
		retention: opts.RawRetention,
		now:       opts.Now,
		series:    seriesindex.New[int64](),
		ins:       make(map[string]*insertStmts),
	}
	if s.retention == 0 {
		s.retention = DefaultRawRetention
	}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.ReadOnly {
		if err := s.openReadOnly(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite %s: open read-only: %w", file, err)
		}
		return s, nil
	}
	if err := os.MkdirAll(opts.Path, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite %s: open: %w", file, err)
	}
	if err := s.open(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite %s: open: %w", file, err)
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	var err error
	// The writer: one connection, transactions take the write lock up front
	// (BEGIN IMMEDIATE) so they never fail half-way on a lock upgrade.
	// Statement journals (multi-row UPSERTs need them) stay in memory, a
	// 16 MiB page cache holds a large batch without spilling mid-transaction,
	// and checkpoints every 8192 pages (32 MiB of WAL) copy a page that
	// several batches touched once (about 15 % faster for poll rounds across
	// thousands of meters, BenchmarkWritePollRound).
	if s.wdb, err = sql.Open("sqlite", dsn(s.path, "_txlock=immediate",
		"_pragma=temp_store(MEMORY)", "_pragma=cache_size(-16384)", "_pragma=wal_autocheckpoint(8192)")); err != nil {
		return err
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxIdleTime(0)
	s.wdb.SetConnMaxLifetime(0)
	if err := migrate(ctx, s.wdb, migrations); err != nil {
		return err
	}
	// Readers: created after the migration so they never see an old schema.
	if s.rdb, err = sql.Open("sqlite", dsn(s.path, "_pragma=query_only(1)")); err != nil {
		return err
	}
	s.rdb.SetMaxIdleConns(4)
	if err := s.rdb.PingContext(ctx); err != nil {
		return err
	}
	return s.prepare(ctx)
}

// openReadOnly opens the readers only. SQLite reads a WAL database through
// its -shm file; when this user cannot create it (a read-only directory)
// and no writer has the database open (no -wal file), the database is
// opened immutable, which needs no -shm. With a writer running, the -wal
// and -shm files exist and are used as they are.
func (s *Store) openReadOnly(ctx context.Context) error {
	s.readOnly = true
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no store here: %w", err)
	} else if err != nil {
		return err
	}
	try := func(immutable bool) error {
		s.immutable = immutable
		extra := []string{"mode=ro", "_pragma=query_only(1)"}
		if immutable {
			extra = append(extra, "immutable=1")
		}
		db, err := sql.Open("sqlite", roDSN(s.path, extra...))
		if err != nil {
			return err
		}
		db.SetMaxIdleConns(4)
		var v int
		if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
			db.Close()
			return err
		}
		s.rdb = db
		switch {
		case v > len(migrations):
			return &SchemaTooNewError{Version: v, Known: len(migrations)}
		case v < len(migrations):
			return fmt.Errorf("database schema version %d is older than this binary's (%d): run a command that writes the store once (ecometer serve, grid import) as a user who may write it", v, len(migrations))
		}
		return nil
	}
	err := try(false)
	if err != nil && s.rdb == nil {
		if _, werr := os.Stat(s.path + "-wal"); errors.Is(werr, os.ErrNotExist) {
			if err2 := try(true); err2 == nil || s.rdb != nil {
				return err2
			}
		}
	}
	return err
}

// roDSN is dsn for a read-only connection: no pragma that writes.
func roDSN(file string, extra ...string) string {
	p := filepath.ToSlash(file)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	u := url.URL{Scheme: "file", Path: p}
	return u.String() + "?" + strings.Join(append([]string{"_pragma=busy_timeout(10000)", "_pragma=foreign_keys(1)"}, extra...), "&")
}

// writable fails when the store was opened read-only.
func (s *Store) writable() error {
	if s.readOnly {
		return ErrReadOnly
	}
	return nil
}

// dsn returns the driver's data source name for the database file, with the
// pragmas every connection needs and extra query parameters.
func dsn(file string, extra ...string) string {
	p := filepath.ToSlash(file)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: file:///C:/...
	}
	u := url.URL{Scheme: "file", Path: p}
	q := append([]string{
		"_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(1)",
	}, extra...)
	return u.String() + "?" + strings.Join(q, "&")
}

// Close closes the database. It is safe to call more than once; every other
// method fails after Close.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, st := range s.ins {
		errs = append(errs, st.close())
	}
	for _, st := range []*sql.Stmt{s.selSer, s.insSer} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	for _, db := range []*sql.DB{s.rdb, s.wdb} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite %s: close: %w", s.path, err)
	}
	return nil
}

// errClosed is returned by Write after Close.
var errClosed = errors.New("store is closed")
