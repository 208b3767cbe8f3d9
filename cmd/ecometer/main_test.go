package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"
)

const exampleFile = "../../examples/site.yaml"

// writeFile writes content to a file in a fresh temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunExitCodes(t *testing.T) {
	bad := writeFile(t, "bad.yaml", "sites:\n  - name: dc1\n    price_area: DK9\n")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string // the whole of stderr
	}{
		{name: "help", args: []string{"--help"}, wantCode: 0, wantStdout: "Exit codes:"},
		{name: "no command shows help", args: nil, wantCode: 0, wantStdout: "COMMANDS:"},
		{name: "validate ok", args: []string{"config", "validate", exampleFile}, wantCode: 0,
			wantStdout: exampleFile + ": OK (1 site, 13 devices)\n"},
		{name: "validate bad", args: []string{"config", "validate", bad}, wantCode: 2,
			wantStdout: bad + `:3:17: sites[0].price_area: invalid value "DK9" (allowed: DK1, DK2)` + "\n",
			wantStderr: "ecometer: " + bad + ": invalid config (1 problem)\n"},
		{name: "validate missing file", args: []string{"config", "validate", "does-not-exist.yaml"}, wantCode: 2,
			wantStderr: "ecometer: read config: open does-not-exist.yaml: no such file or directory\n"},
		{name: "validate without file", args: []string{"config", "validate"}, wantCode: 2,
			wantStderr: "ecometer: config validate: want exactly one FILE argument, got 0 (usage: ecometer config validate FILE)\n"},
		{name: "unknown flag", args: []string{"config", "show", "--jsn", exampleFile}, wantCode: 2,
			wantStderr: "ecometer: config show: flag provided but not defined: -jsn (see ecometer config show --help)\n"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2,
			wantStderr: "ecometer: unknown command \"frobnicate\" (see ecometer --help)\n"},
		{name: "show invalid prints problems to stderr", args: []string{"config", "show", bad}, wantCode: 2,
			wantStderr: bad + `:3:17: sites[0].price_area: invalid value "DK9" (allowed: DK1, DK2)` + "\necometer: " + bad + ": invalid config (1 problem)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"ecometer"}, tt.args...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.wantCode, &stderr)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", &stdout, tt.wantStdout)
			}
			if stderr.String() != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", &stderr, tt.wantStderr)
			}
		})
	}
}

// Every command teaches: a one-line Usage and an example invocation.
func TestCommandsHaveUsageAndExample(t *testing.T) {
	var check func(path string, c *cli.Command)
	check = func(path string, c *cli.Command) {
		if c.Usage == "" || strings.Contains(c.Usage, "\n") {
			t.Errorf("%s: Usage %q, want one line", path, c.Usage)
		}
		if !strings.Contains(c.Description, "Example") || !strings.Contains(c.Description, "\n   "+path) {
			t.Errorf("%s: Description has no example invocation:\n%s", path, c.Description)
		}
		for _, sub := range c.Commands {
			if sub.Name != "help" {
				check(path+" "+sub.Name, sub)
			}
		}
	}
	check("ecometer", newRootCommand(&bytes.Buffer{}, &bytes.Buffer{}))
}
