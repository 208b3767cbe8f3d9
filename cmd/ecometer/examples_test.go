package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/testenv"
)

// TestSystemdUnit: examples/ecometer.service is the README's unit, its
// ExecStart is a command line this CLI accepts, and systemd itself finds
// nothing wrong with it.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("../../examples/ecometer.service")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	body := unit[bytes.Index(unit, []byte("[Unit]")):]
	if !bytes.Contains(readme, body) {
		t.Error("the README's unit differs from examples/ecometer.service")
	}
	var execStart []string
	for _, l := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			execStart = strings.Fields(v)
		}
	}
	if len(execStart) < 2 || filepath.Base(execStart[0]) != "ecometer" {
		t.Fatalf("ExecStart %q does not run ecometer", execStart)
	}
	// Walk the command tree with the arguments: every command and flag exists.
	cmd := newRootCommand(&bytes.Buffer{}, &bytes.Buffer{})
	args := execStart[1:]
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		var next *cli.Command
		for _, c := range cmd.Commands {
			if c.Name == args[0] {
				next = c
			}
		}
		if next == nil {
			t.Fatalf("ExecStart: %q is not a command of %q", args[0], cmd.Name)
		}
		cmd, args = next, args[1:]
	}
	if cmd.Name != "serve" {
		t.Errorf("ExecStart runs %q, want serve", cmd.Name)
	}
	for _, a := range args {
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			continue
		}
		found := false
		for _, f := range cmd.Flags {
			for _, n := range f.Names() {
				found = found || n == name
			}
		}
		if !found {
			t.Errorf("ExecStart: %s has no flag --%s", cmd.Name, name)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.RequireOrSkip(t, "systemd-analyze not found (Debian package systemd): the unit is not checked by systemd")
	}
	dir := t.TempDir()
	// systemd checks that the executable exists: point it at one that does.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ecometer.service")
	if err := os.WriteFile(path, bytes.Replace(unit, []byte(execStart[0]), []byte(self), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
