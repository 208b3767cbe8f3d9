// Package bench measures ecometer end to end and its parts: the SNMP
// collector against bare gosnmp (SNMP), the Redfish collector (Redfish),
// and the whole `serve` path with simulated devices in a child process
// (Serve). The measures are the process's own CPU time and peak RSS
// (getrusage), so a figure is what ecometer costs, not a timer's guess.
package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
)

// UsageError is a bad option or input (a missing recording or mockup):
// the command line's fault, exit 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// progress is a one-line status on a terminal, rewritten in place; a nil
// writer keeps it quiet.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	shown bool
}

func (p *progress) set(format string, args ...any) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shown = true
	fmt.Fprintf(p.w, "\r\033[K"+format, args...)
}

func (p *progress) clear() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// loadRecording parses an .snmprec file; a missing or malformed one is a
// usage error.
func loadRecording(file string) (*simsnmp.Recording, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	defer f.Close()
	rec, err := simsnmp.Parse(filepath.Base(file), f)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	return rec, nil
}
