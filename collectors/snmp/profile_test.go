package snmp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbeddedProfilesLoad(t *testing.T) {
	reg, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apc-rpdu", "apc-rpdu2", "apc-ups", "cisco-entity-sensor", "cisco-power-ethernet-ext",
		"cisco-switch", "cyberpower", "dell-rpdu", "eaton-epdu", "eaton-xups", "entity-sensor", "hpe-pdu", "liebert-pdu", "power-ethernet",
		"raritan-pdu2", "sentry3", "sentry4", "ups-mib", "vertiv-geist"}
	var got []string
	for _, p := range reg.Profiles() {
		got = append(got, p.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("profiles %v, want %v", got, want)
	}
}

// TestProfileErrors runs testcases/<case>/{profile.yaml, expected.err}: a
// new error case is a new folder.
func TestProfileErrors(t *testing.T) {
	dirs, err := filepath.Glob("testcases/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no testcases: %v", err)
	}
	for _, d := range dirs {
		t.Run(filepath.Base(d), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(d, "profile.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(d, "expected.err"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseProfile("profile.yaml", data)
			if err == nil {
				t.Fatal("no error")
			}
			for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				if !strings.Contains(err.Error(), line) {
					t.Errorf("error lacks %q:\n%v", line, err)
				}
			}
		})
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	own := "name: my-meter\nclass: facility\ndetect: {sys_object_id: [1.3.6.1.4.1.4242]}\nmetrics:\n" +
		"  - {object: meterWatts, field: power_w, scalar: 1.3.6.1.4.1.4242.1.0, unit: W}\n"
	if err := os.WriteFile(filepath.Join(dir, "my.yaml"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Lookup("my-meter"); !ok {
		t.Error("own profile not loaded")
	}
	if _, ok := reg.Lookup("ups-mib"); !ok {
		t.Error("built-ins lost")
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("name: x\nbogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "bad.yaml:2:") {
		t.Errorf("bad profile: %v", err)
	}
}
