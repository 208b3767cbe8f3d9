package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Lock is the file lock (flock(2)) that lets one applier act at a time,
// across processes on the host. The holder's pid, user and start are
// written into the file for the message a waiting applier gives.
type Lock struct {
	Path string
	Who  string
}

// ErrLocked is returned when the lock stays taken for the whole wait.
var ErrLocked = errors.New("another applier holds the power controller lock")

// Acquire takes the lock, waiting up to wait; release gives it back.
func (l Lock) Acquire(ctx context.Context, wait time.Duration) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o750); err != nil {
		return nil, fmt.Errorf("lock %s: %w", l.Path, err)
	}
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", l.Path, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", l.Path, err)
		}
		if time.Now().After(deadline) {
			holder, _ := os.ReadFile(l.Path)
			f.Close()
			return nil, fmt.Errorf("%w (%s: %s)", ErrLocked, l.Path, strings.TrimSpace(string(holder)))
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d, %s, since %s\n", os.Getpid(), l.Who, time.Now().Format(time.RFC3339))), 0)
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
