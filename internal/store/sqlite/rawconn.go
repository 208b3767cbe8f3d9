package sqlite

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawConn is a read-only connection to the database file that talks to the
// SQLite C API (modernc.org/sqlite/lib) directly instead of through
// database/sql. HourlyEach uses it for its bulk scans: the driver opens every
// connection in serialized mode, so each sqlite3_column_* call takes and
// releases the connection's mutex, and database/sql then converts every
// value through an interface; for the rollup scan that was three quarters of
// the time (BenchmarkHourlyEach, one reader: 0.55 M rows/s through
// database/sql, 1.7 M here; what remains is SQLite's VM). This connection is
// opened without a mutex (SQLITE_OPEN_NOMUTEX) and must only be used by one
// goroutine at a time.
type rawConn struct {
	tls *libc.TLS
	db  uintptr
}

// openRaw opens the database file read-only; immutable as in
// Store.openReadOnly.
func openRaw(file string, immutable bool) (*rawConn, error) {
	c := &rawConn{tls: libc.NewTLS()}
	flags := int32(sqlite3.SQLITE_OPEN_READONLY | sqlite3.SQLITE_OPEN_NOMUTEX)
	if immutable {
		file = (&url.URL{Scheme: "file", Path: filepath.ToSlash(file), RawQuery: "immutable=1"}).String()
		flags |= sqlite3.SQLITE_OPEN_URI
	}
	name, err := libc.CString(file)
	if err != nil {
		c.tls.Close()
		return nil, err
	}
	defer libc.Xfree(c.tls, name)
	pdb := c.tls.Alloc(int(unsafe.Sizeof(uintptr(0))))
	defer c.tls.Free(int(unsafe.Sizeof(uintptr(0))))
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, pdb, flags, 0)
	c.db = *(*uintptr)(cPtr(pdb))
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.close()
		return nil, fmt.Errorf("open: %w", err)
	}
	if rc := sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, 10000); rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *rawConn) close() {
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	c.tls.Close()
}

// err turns a result code into an error with the connection's message.
func (c *rawConn) err(rc int32) error {
	if c.db != 0 {
		if p := sqlite3.Xsqlite3_errmsg(c.tls, c.db); p != 0 {
			return fmt.Errorf("%s (%d)", libc.GoString(p), rc)
		}
	}
	return fmt.Errorf("%s (%d)", libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc)), rc)
}

// exec runs a statement that returns no rows.
func (c *rawConn) exec(query string) error {
	st, err := c.prepare(query)
	if err != nil {
		return err
	}
	defer st.finalize()
	_, err = st.step()
	return err
}

// rawStmt is a prepared statement of a rawConn.
type rawStmt struct {
	c *rawConn
	p uintptr
}

func (c *rawConn) prepare(query string) (*rawStmt, error) {
	q, err := libc.CString(query)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, q)
	pst := c.tls.Alloc(int(unsafe.Sizeof(uintptr(0))))
	defer c.tls.Free(int(unsafe.Sizeof(uintptr(0))))
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, q, -1, pst, 0); rc != sqlite3.SQLITE_OK {
		return nil, fmt.Errorf("prepare: %w", c.err(rc))
	}
	st := &rawStmt{c: c, p: *(*uintptr)(cPtr(pst))}
	if st.p == 0 {
		return nil, errors.New("prepare: empty statement")
	}
	return st, nil
}

func (s *rawStmt) finalize() {
	if s.p != 0 {
		sqlite3.Xsqlite3_finalize(s.c.tls, s.p)
		s.p = 0
	}
}

// bind resets the statement and binds args (int64 or string) to its
// parameters in order; callers bind every parameter each time.
//
// The bindings are not cleared first: this build of SQLite has STAT4, so
// the planner marks the parameters a plan may depend on, and clearing any
// of them (sqlite3_clear_bindings) expires the statement. Each step then
// compiled the statement again: for the hourly aggregation, ≈ 80 µs a
// series, which was nearly all of what reading an empty month of 5,000
// series cost (BenchmarkHourlyEachEmpty).
func (s *rawStmt) bind(args ...any) error {
	tls := s.c.tls
	sqlite3.Xsqlite3_reset(tls, s.p)
	for i, a := range args {
		var rc int32
		switch v := a.(type) {
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(tls, s.p, int32(i+1), v)
		case string:
			p, err := libc.CString(v)
			if err != nil {
				return err
			}
			// SQLITE_TRANSIENT: SQLite copies the text.
			rc = sqlite3.Xsqlite3_bind_text(tls, s.p, int32(i+1), p, int32(len(v)), sqlite3.SQLITE_TRANSIENT)
			libc.Xfree(tls, p)
		default:
			return fmt.Errorf("bind parameter %d: unsupported type %T", i+1, a)
		}
		if rc != sqlite3.SQLITE_OK {
			return fmt.Errorf("bind parameter %d: %w", i+1, s.c.err(rc))
		}
	}
	return nil
}

// step advances to the next row; it reports false when there is none.
func (s *rawStmt) step() (bool, error) {
	switch rc := sqlite3.Xsqlite3_step(s.c.tls, s.p); rc {
	case sqlite3.SQLITE_ROW:
		return true, nil
	case sqlite3.SQLITE_DONE:
		return false, nil
	default:
		return false, s.c.err(rc)
	}
}

// int64, float64 and text read column i of the current row; NULL reads as
// 0 or "".
func (s *rawStmt) int64(i int32) int64 { return sqlite3.Xsqlite3_column_int64(s.c.tls, s.p, i) }

func (s *rawStmt) float64(i int32) float64 {
	return sqlite3.Xsqlite3_column_double(s.c.tls, s.p, i)
}

func (s *rawStmt) text(i int32) string {
	p := sqlite3.Xsqlite3_column_text(s.c.tls, s.p, i)
	n := sqlite3.Xsqlite3_column_bytes(s.c.tls, s.p, i)
	if p == 0 || n <= 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(cPtr(p)), n))
}

// cPtr returns the address p of SQLite's memory (modernc's C heap, outside
// Go's heap: it never moves and the garbage collector ignores it) as a
// pointer. Reading the uintptr's bits as an unsafe.Pointer is the conversion
// unsafe.Pointer(p) spelled so that go vet's unsafeptr check, which cannot
// tell C memory from Go memory, accepts it.
func cPtr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }
