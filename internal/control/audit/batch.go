package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// AppendAll writes entries as the next entries of l, in order, under one
// lock and with one sync: for writing many at once (a simulated history).
// Each entry is chained and filled in as Append does; it returns how many
// were written.
func AppendAll(l *Log, entries []Entry) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o750); err != nil {
		return 0, fmt.Errorf("audit %s: %w", l.path, err)
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return 0, fmt.Errorf("audit %s: %w", l.path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return 0, fmt.Errorf("audit %s: lock: %w", l.path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck
	last, err := lastEntry(f)
	if err != nil {
		return 0, fmt.Errorf("audit %s: %w", l.path, err)
	}
	var buf []byte
	for _, e := range entries {
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
			return 0, err
		}
		buf = append(append(buf, b...), '\n')
		last = e
	}
	if _, err := f.Write(buf); err != nil {
		return 0, fmt.Errorf("audit %s: write: %w", l.path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("audit %s: sync: %w", l.path, err)
	}
	return len(entries), nil
}
