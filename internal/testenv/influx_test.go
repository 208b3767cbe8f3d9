package testenv

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInfluxStartStopRestart(t *testing.T) {
	s := Influx(t)
	if s.Database != "ecometer" || s.Bucket != "ecometer/autogen" || !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("unexpected server fields: %+v", s)
	}
	if _, err := s.Query(`INSERT_IS_NOT_INFLUXQL`); err == nil {
		t.Fatal("Query: want an error for invalid InfluxQL")
	}
	// Write through the 1.x API, read back through InfluxQL.
	resp, err := http.Post(s.URL+"/write?db=ecometer&precision=s", "text/plain",
		strings.NewReader("power,device=d1 power_w=12.5 1700000000\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}
	out, err := s.Query(`SELECT power_w FROM power`)
	if err != nil || !strings.Contains(string(out), "12.5") {
		t.Fatalf("query after write: %s, %v", out, err)
	}

	s.Stop()
	if s.Running() {
		t.Fatal("Running after Stop")
	}
	if _, err := s.Query(`SHOW DATABASES`); err == nil {
		t.Fatal("Query succeeded against a stopped server")
	}
	url := s.URL
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if s.URL != url {
		t.Fatalf("URL changed on restart: %s → %s", url, s.URL)
	}
	out, err = s.Query(`SELECT power_w FROM power`)
	if err != nil || !strings.Contains(string(out), "12.5") {
		t.Fatalf("data lost across restart: %s, %v", out, err)
	}
	// Flux is enabled.
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v2/query",
		strings.NewReader(`from(bucket: "ecometer/autogen") |> range(start: 2023-01-01T00:00:00Z) |> count()`))
	req.Header.Set("Content-Type", "application/vnd.flux")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("flux query: %s", resp.Status)
	}
}

// Two servers side by side must not collide on any port.
func TestInfluxParallel(t *testing.T) {
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := Influx(t)
			if _, err := s.Query("CREATE DATABASE other"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestInfluxMissingBinary(t *testing.T) {
	t.Setenv(influxdEnv, filepath.Join(t.TempDir(), "no-such-influxd"))
	if _, err := findInfluxd(); err == nil {
		t.Fatal("findInfluxd: want an error for a missing binary")
	}
}

func TestRequireOrSkip(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			ft := &fakeTB{TB: t}
			func() {
				defer func() { recover() }()
				RequireOrSkip(ft, "corpus missing")
			}()
			if ci == "true" && !ft.fataled || ci == "" && !ft.skipped {
				t.Fatalf("CI=%q: skipped=%v fataled=%v", ci, ft.skipped, ft.fataled)
			}
		})
	}
}

// fakeTB records Skip and Fatal instead of stopping the test.
type fakeTB struct {
	testing.TB
	skipped, fataled bool
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Skip(args ...any)  { f.skipped = true; panic("skip") }
func (f *fakeTB) Fatal(args ...any) { f.fataled = true; panic("fatal") }

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
}

func TestRedisAnswers(t *testing.T) {
	r := Redis(t)
	if err := ping(r.Addr); err != nil {
		t.Fatalf("redis-server on %s: %v", r.Addr, err)
	}
}
