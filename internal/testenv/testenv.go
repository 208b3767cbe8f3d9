// Package testenv starts real servers (InfluxDB, …) for tests, so backends are
// tested against the real thing rather than mocks.
//
// A missing server binary skips the test with a message saying how to get it,
// except on CI (env CI=true), where it fails the test: CI must never go green
// by skipping.
package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RequireOrSkip stops the test because something it needs (a server binary, a
// corpus file) is missing: t.Skip with msg, or t.Fatal with msg when the
// environment variable CI is "true".
func RequireOrSkip(t testing.TB, msg string) {
	t.Helper()
	if isCI() {
		t.Fatal(msg + " (CI=true: missing test dependencies fail instead of skipping)")
	}
	t.Skip(msg)
}

func isCI() bool {
	return strings.EqualFold(strings.TrimSpace(os.Getenv("CI")), "true")
}

// ModuleRoot returns the directory holding go.mod, found by walking up from
// the working directory (a test's working directory is its package
// directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}
