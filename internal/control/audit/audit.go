// Package audit is the controller's append-only audit log: one JSON object
// per line, each carrying the SHA-256 of the line before it, so that
// editing, inserting or removing an entry anywhere but at the very end
// breaks the chain and Verify finds it. Every command, verification,
// refusal and skipped step is recorded with who (the OS user), what, why
// (the policy or the operator's --reason) and the state before and after.
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"syscall"
	"time"
)

// Events.
const (
	EventCommand  = "command"  // a command was sent
	EventVerified = "verified" // the read-back confirmed the wanted state
	EventFailed   = "failed"   // the command or its verification failed
	EventRefused  = "refused"  // the target is protected: nothing was sent
	EventNoop     = "noop"     // already in the wanted state: nothing was sent
	EventSkipped  = "skipped"  // a step was not carried out (condition, dependency, lock)
	EventPlan     = "plan"     // an apply of a plan started or ended
)

// Entry is one line of the log.
type Entry struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Who     string    `json:"who"`
	Host    string    `json:"host,omitempty"`
	Event   string    `json:"event"`
	Target  string    `json:"target,omitempty"`
	Action  string    `json:"action,omitempty"`  // off, on, cycle, cap, restore
	Command string    `json:"command,omitempty"` // what went on the wire
	Policy  string    `json:"policy,omitempty"`
	Why     string    `json:"why,omitempty"`
	Plan    string    `json:"plan,omitempty"` // the plan's hash
	Step    int       `json:"step,omitempty"`
	Before  string    `json:"before,omitempty"`
	After   string    `json:"after,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Prev    string    `json:"prev"`
	Hash    string    `json:"hash"`
}

// Log is an audit log file. Appends from several processes are serialized
// with an exclusive flock on the file.
type Log struct {
	path string
	now  func() time.Time
	who  string
	host string
}

// Open prepares the log at path (created, with its directory, on the first
// append).
func Open(path string) *Log {
	host, _ := os.Hostname()
	return &Log{path: path, now: time.Now, who: Who(), host: host}
}

// Path is the log's file.
func (l *Log) Path() string { return l.path }

// SetClock replaces the clock (tests).
func (l *Log) SetClock(now func() time.Time) { l.now = now }

// Who is the OS user running the process, with the user who ran sudo.
func Who() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = fmt.Sprintf("uid %d", os.Getuid())
	}
	if s := os.Getenv("SUDO_USER"); s != "" && s != name {
		name += " (sudo by " + s + ")"
	}
	return name
}

// hashOf is the SHA-256 of the entry's JSON with Hash empty.
func hashOf(e Entry) string {
	e.Hash = ""
	b, _ := json.Marshal(e)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Append writes e as the next entry and returns it as written (Seq, Time,
// Who, Prev and Hash filled in).
func (l *Log) Append(e Entry) (Entry, error) {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o750); err != nil {
		return e, fmt.Errorf("audit %s: %w", l.path, err)
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return e, fmt.Errorf("audit %s: %w", l.path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return e, fmt.Errorf("audit %s: lock: %w", l.path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck
	last, err := lastEntry(f)
	if err != nil {
		return e, fmt.Errorf("audit %s: %w", l.path, err)
	}
	e.Seq, e.Prev = last.Seq+1, last.Hash
	if e.Time.IsZero() {
		e.Time = l.now().UTC()
	}
	if e.Who == "" {
		e.Who = l.who
	}
	if e.Host == "" {
		e.Host = l.host
	}
	e.Hash = hashOf(e)
	b, err := json.Marshal(e)
	if err != nil {
		return e, err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return e, fmt.Errorf("audit %s: write: %w", l.path, err)
	}
	if err := f.Sync(); err != nil {
		return e, fmt.Errorf("audit %s: sync: %w", l.path, err)
	}
	return e, nil
}

// lastEntry reads the last complete line of f (zero Entry for an empty
// file).
func lastEntry(f *os.File) (Entry, error) {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return Entry{}, err
	}
	const chunk = 64 << 10
	off := max(0, fi.Size()-chunk)
	for {
		buf := make([]byte, fi.Size()-off)
		if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
			return Entry{}, err
		}
		buf = bytes.TrimRight(buf, "\n")
		i := bytes.LastIndexByte(buf, '\n')
		if i >= 0 || off == 0 {
			var e Entry
			if err := json.Unmarshal(buf[i+1:], &e); err != nil {
				return Entry{}, fmt.Errorf("last line is not an audit entry (run power history --verify): %w", err)
			}
			return e, nil
		}
		off = max(0, off-chunk)
	}
}

// Read returns every entry, oldest first; a missing log is empty.
func (l *Log) Read() ([]Entry, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", l.path, err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return out, fmt.Errorf("audit %s:%d: %w", l.path, line, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// TamperError is a break in the chain.
type TamperError struct {
	Path   string
	Line   int
	Reason string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("audit %s:%d: %s", e.Path, e.Line, e.Reason)
}

// Verify checks the whole chain: every line parses strictly, its hash is
// its content's, it names the hash of the line before, and the sequence
// has no gap. It returns the number of entries.
func (l *Log) Verify() (int, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit %s: %w", l.path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var prev Entry
	n := 0
	for sc.Scan() {
		n++
		fail := func(format string, args ...any) (int, error) {
			return n - 1, &TamperError{Path: l.path, Line: n, Reason: fmt.Sprintf(format, args...)}
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var e Entry
		if err := dec.Decode(&e); err != nil {
			return fail("not an audit entry: %v", err)
		}
		if dec.More() {
			return fail("trailing data after the entry")
		}
		if got := hashOf(e); got != e.Hash {
			return fail("entry %d was changed: its content hashes to %.12s…, the line says %.12s…", e.Seq, got, e.Hash)
		}
		if e.Prev != prev.Hash {
			return fail("entry %d does not follow the line before it (prev %.12s…, the line before hashes to %.12s…): an entry was removed or inserted",
				e.Seq, e.Prev, prev.Hash)
		}
		if e.Seq != prev.Seq+1 {
			return fail("entry %d follows entry %d: an entry is missing", e.Seq, prev.Seq)
		}
		prev = e
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("audit %s: %w", l.path, err)
	}
	return n, nil
}

func jsonMarshal(e Entry) ([]byte, error) { return json.Marshal(e) }
