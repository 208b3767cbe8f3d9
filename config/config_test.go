package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecometer/ecometer/examples"
)

var update = flag.Bool("update", false, "rewrite the expected.out and expected.err golden files")

// TestCases runs every folder under testcases/: config.yaml must produce
// either expected.err (the problems) or expected.out (`config show`).
func TestCases(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testcases", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 12 {
		t.Fatalf("found %d test cases, want at least 12", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			errFile, outFile := filepath.Join(dir, "expected.err"), filepath.Join(dir, "expected.out")
			_, statErr := os.Stat(errFile)
			wantErr := statErr == nil

			cfg, loadErr := Parse("config.yaml", data)
			var got []byte
			golden := outFile
			if loadErr != nil {
				var ps Problems
				if !errors.As(loadErr, &ps) {
					t.Fatalf("error is %T, want Problems: %v", loadErr, loadErr)
				}
				got = []byte(loadErr.Error() + "\n")
				golden = errFile
			} else {
				var buf bytes.Buffer
				if err := cfg.WriteYAML(&buf); err != nil {
					t.Fatal(err)
				}
				got = buf.Bytes()
			}
			if *update {
				_ = os.Remove(errFile)
				_ = os.Remove(outFile)
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantErr != (loadErr != nil) {
				t.Fatalf("got error %v, want error: %v\n%s", loadErr, wantErr, got)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (run go test ./config -run TestCases -update)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestExampleIsValid(t *testing.T) {
	cfg, err := Parse("examples/site.yaml", examples.SiteYAML)
	if err != nil {
		t.Fatalf("examples/site.yaml:\n%v", err)
	}
	if len(cfg.Sites) != 1 || len(cfg.Devices) < 6 {
		t.Errorf("got %d sites, %d devices; want 1 site and at least 6 devices", len(cfg.Sites), len(cfg.Devices))
	}
}

// A configuration printed by `config show` must load back to the same
// configuration (secrets aside, which print as <redacted>).
func TestShowRoundTrip(t *testing.T) {
	cfg, err := Parse("site.yaml", []byte(strings.ReplaceAll(string(examples.SiteYAML), ": env:", ": env:X")))
	if err != nil {
		t.Fatal(err)
	}
	var first, second bytes.Buffer
	if err := cfg.WriteYAML(&first); err != nil {
		t.Fatal(err)
	}
	again, err := Parse("shown.yaml", []byte(strings.ReplaceAll(first.String(), "<redacted>", "env:X")))
	if err != nil {
		t.Fatalf("shown config does not load:\n%v", err)
	}
	if err := again.WriteYAML(&second); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Errorf("round trip changed the config:\nfirst:\n%s\nsecond:\n%s", &first, &second)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	var ps Problems
	if err == nil || errors.As(err, &ps) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a wrapped not-exist error", err)
	}
}

func TestLoadReportsFileName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(path, []byte("sites:\n  - name: a\n    time_zone: UTC\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := path + `:3:5: sites[0].time_zone: unknown key "time_zone" (did you mean "timezone"?)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

const secretValue = "s3cr3t-Value-never-printed"

func TestSecretNeverPrinted(t *testing.T) {
	yml := fmt.Sprintf(`allow_inline_secrets: true
sites: [{name: a}]
devices:
  - {name: s, site: a, class: server, protocol: redfish, address: bmc, redfish: {user: u, password: %q}}
  - {name: p, site: a, class: pdu, protocol: snmp, address: pdu, snmp: {community: %q}}
storage:
  influxdb: {url: "http://influx:8086", org: o, bucket: b, token: %q}
`, secretValue, secretValue, secretValue)
	cfg, err := Parse("c.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cfg.Devices[0].Redfish.Password.Resolve(); got != secretValue {
		t.Fatalf("Resolve() = %q, want the inline value", got)
	}
	var y, j bytes.Buffer
	if err := cfg.WriteYAML(&y); err != nil {
		t.Fatal(err)
	}
	if err := cfg.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	s := cfg.Devices[0].Redfish.Password
	m, err := s.MarshalYAML()
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"WriteYAML":   y.String(),
		"WriteJSON":   j.String(),
		"MarshalYAML": fmt.Sprint(m),
		"%v":          fmt.Sprintf("%v", s),
		"%+v":         fmt.Sprintf("%+v", s),
		"%#v":         fmt.Sprintf("%#v", s),
		"%s":          fmt.Sprintf("%s", s),
		"%q":          fmt.Sprintf("%q", s),
		"%x":          fmt.Sprintf("%x", s),
		"%d":          fmt.Sprintf("%d", s),
		"struct %+v":  fmt.Sprintf("%+v", *cfg.Devices[0].Redfish),
		"struct %#v":  fmt.Sprintf("%#v", *cfg.Devices[1].SNMP),
		"config %+v":  fmt.Sprintf("%+v", cfg.Storage),
	}
	for name, out := range outputs {
		if strings.Contains(out, secretValue) || strings.Contains(out, fmt.Sprintf("%x", secretValue)) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, "<redacted>") {
			t.Errorf("%s does not say <redacted>: %s", name, out)
		}
	}
}

func TestSecretResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ECOMETER_TEST_SECRET", "from-env")
	t.Setenv("ECOMETER_TEST_EMPTY", "")
	tests := []struct {
		ref, want, wantErr string
	}{
		{ref: "env:ECOMETER_TEST_SECRET", want: "from-env"},
		{ref: "file:" + file, want: "from-file"},
		{ref: "literal", want: "literal"},
		{ref: "env:ECOMETER_TEST_UNSET_XYZ", wantErr: "secret env:ECOMETER_TEST_UNSET_XYZ: environment variable ECOMETER_TEST_UNSET_XYZ is not set"},
		{ref: "env:ECOMETER_TEST_EMPTY", wantErr: "environment variable ECOMETER_TEST_EMPTY is empty"},
		{ref: "file:" + filepath.Join(dir, "missing"), wantErr: "secret file:" + filepath.Join(dir, "missing") + ": open "},
		{ref: "", wantErr: "secret is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			s, err := ParseSecret(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseSecretInvalid(t *testing.T) {
	for _, ref := range []string{"env:", "env:1ABC", "env:A-B", "file:", "file:  "} {
		if _, err := ParseSecret(ref); err == nil {
			t.Errorf("ParseSecret(%q) succeeded, want an error", ref)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		str  string
	}{
		{"2GiB", 2 * GiB, "2GiB"},
		{"2 GiB", 2 * GiB, "2GiB"},
		{"500MB", 500 * MB, "500MB"},
		{"1.5KiB", 1536, "1536B"},
		{"1024", KiB, "1KiB"},
		{"3kb", 3 * KB, "3KB"},
		{"1TiB", TiB, "1TiB"},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
		if got.String() != tt.str {
			t.Errorf("ByteSize(%d).String() = %q, want %q", got, got.String(), tt.str)
		}
	}
	for _, bad := range []string{"", "GiB", "-1GiB", "2GiBs", "2 gigabytes", "1.2.3MB", "1e30GiB"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) succeeded, want an error", bad)
		}
	}
}

func TestDurationString(t *testing.T) {
	tests := map[string]string{"60s": "1m", "2160h": "2160h", "90s": "1m30s", "1h30m": "1h30m", "2s": "2s", "1.5s": "1.5s", "0s": "0s"}
	for in, want := range tests {
		var d Duration
		if err := d.decodeScalar(in); err != nil {
			t.Fatal(err)
		}
		if d.String() != want {
			t.Errorf("Duration(%s).String() = %q, want %q", in, d.String(), want)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"name", "timeout", "retries", "max_repetitions", "address"}
	tests := map[string]string{
		"timout": "timeout", "adress": "address", "Retries": "retries",
		"max_repetition": "max_repetitions", "colour": "", "x": "",
	}
	for in, want := range tests {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateWithoutPositions(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sites = []Site{{Name: "a", Timezone: "UTC", PriceArea: DK2, AssumedPUE: 1.2, Accounting: AccountIT}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	cfg.Target.ReductionPct = 100
	err := cfg.Validate()
	want := "target.reduction_pct: must be between 0 and 100 (exclusive), got 100"
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v, want %s", err, want)
	}
}
