package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/examples"
)

func TestRunDemo(t *testing.T) {
	var out bytes.Buffer
	if err := runDemo(context.Background(), demoOptions{Config: examples.SiteYAML}, streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"Sites (1):",
		"odense-dc1",
		"Devices (7):",
		"pdu-r01-a, pdu-r01-b",
		"srv-epj-db01 (patient-critical)",
		"Storage: embedded SQLite in ./ecometer-data",
		"password: <redacted>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ECOMETER_BMC_PASSWORD") {
		t.Errorf("demo output shows a secret reference:\n%s", got)
	}
}

func TestRunDemoInvalidConfig(t *testing.T) {
	err := runDemo(context.Background(), demoOptions{Config: []byte("sites: [{name: a, price_area: X}]\n")}, streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), `invalid value "X"`) {
		t.Fatalf("runDemo() = %v, want the config problem", err)
	}
}

func TestDescribeStorage(t *testing.T) {
	s := config.DefaultConfig().Storage
	s.Outbox.Dir = "/var/spool/ecometer"
	if got, want := describeStorage(s), "embedded SQLite in ./ecometer-data, raw samples kept 2160h (no storage.influxdb.url set)"; got != want {
		t.Errorf("describeStorage() = %q, want %q", got, want)
	}
	s.InfluxDB.URL, s.InfluxDB.Bucket = "https://influx:8086", "ecometer"
	if got, want := describeStorage(s), "InfluxDB at https://influx:8086, bucket ecometer, through the outbox in /var/spool/ecometer (budget 2GiB)"; got != want {
		t.Errorf("describeStorage() = %q, want %q", got, want)
	}
}
