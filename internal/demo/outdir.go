package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Marker is the file that marks a directory as a demo's output, so that
// the next run may replace what is in it.
const Marker = ".ecometer-demo"

// DefaultOut is the output directory when none is named.
const DefaultOut = "ecometer-demo"

// OutDir is the demo's output directory.
type OutDir struct {
	Path string
	// Named: the user named it (--out); the demo then never removes the
	// directory itself, only what it wrote into it.
	Named bool
	// Replaced: it held a previous demo's output, now removed.
	Replaced bool
}

// OutDirError is an output directory the demo may not use: it holds
// something that is not a demo's output.
type OutDirError struct{ Path, Why string }

func (e *OutDirError) Error() string {
	return fmt.Sprintf("demo: %s %s; name another with --out DIR (an empty or new directory)", e.Path, e.Why)
}

// PrepareOut readies dir for a run: created when missing, emptied when it
// holds a previous demo's output (Marker), refused when it holds anything
// else, so that a directory of the user's is never overwritten.
func PrepareOut(dir string, named bool) (*OutDir, error) {
	o := &OutDir{Path: dir, Named: named}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	case err != nil:
		return nil, &OutDirError{Path: dir, Why: fmt.Sprintf("cannot be read (%v)", err)}
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, Marker)); err != nil {
			return nil, &OutDirError{Path: dir, Why: "is not empty and holds no previous output of ecometer demo"}
		}
		if err := o.empty(); err != nil {
			return nil, err
		}
		o.Replaced = true
	}
	mark := "This directory is the output of `ecometer demo`; the next run replaces its contents.\n"
	if err := os.WriteFile(filepath.Join(dir, Marker), []byte(mark), 0o644); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return o, nil
}

// Remove removes what the demo wrote: the directory's contents, and the
// directory itself unless the user named it.
func (o *OutDir) Remove() error {
	if !o.Named {
		return os.RemoveAll(o.Path)
	}
	return o.empty()
}

func (o *OutDir) empty() error {
	entries, err := os.ReadDir(o.Path)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(o.Path, e.Name())))
	}
	return errors.Join(errs...)
}
