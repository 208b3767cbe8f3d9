package influx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

func TestAppendLine(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		s    sample.Sample
		secs bool
		want string
	}{{
		s: sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "odense dc1", Room: "r,1", Rack: "a=1",
			Device: "pdu-1", Class: "pdu", Meter: "poe/Gi1/0/5", Source: "snmp"}, Time: at,
			Fields: []sample.Field{sample.F("power_w", 1234), sample.F("energy_kwh", 0.1), sample.F("load_pct", math.Copysign(0, -1)),
				sample.F("voltage_v", 1e21), sample.F("current_a", -2)}},
		secs: true,
		want: `power,class=pdu,device=pdu-1,meter=poe/Gi1/0/5,rack=a\=1,room=r\,1,site=odense\ dc1,source=snmp ` +
			`power_w=1234,energy_kwh=0.1,load_pct=-0,voltage_v=1e+21,current_a=-2 1735787045` + "\n",
	}, {
		s: sample.Sample{Series: sample.Series{Measurement: sample.Device, Device: "srv 1"}, Time: at.Add(5),
			Fields: []sample.Field{sample.B("reachable", false), sample.T("power_state", `say "hi" \o/`)}},
		want: `device,device=srv\ 1 reachable=false,power_state="say \"hi\" \\o/" 1735787045000000005` + "\n",
	}} {
		if err := c.s.Validate(); err != nil {
			t.Fatal(err)
		}
		if got := string(appendLine(nil, &c.s, c.secs)); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for _, v := range []float64{0, 1, -1, 1e15, 1e15 - 1, -1e15, 0.1, 1.0 / 3, math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789.125} {
		got := string(appendFloat(nil, v))
		var back float64
		if _, err := fmt.Sscan(got, &back); err != nil || back != v {
			t.Errorf("appendFloat(%v) = %s, reads back %v (%v)", v, got, back, err)
		}
	}
}

func TestFluxString(t *testing.T) {
	for in, want := range map[string]string{
		"plain/1":   `"plain/1"`,
		`a"b\c`:     `"a\"b\\c"`,
		"${x}":      `"\x24{x}"`,
		"a\nb\x7f":  `"a\x0ab\x7f"`,
		"ø":         `"ø"`,
		`\${x}`:     `"\\\x24{x}"`,
		`" + r._v`:  `"\" + r._v"`,
		"":          `""`,
		"$$":        `"\x24\x24"`,
		"tab\there": `"tab\x09here"`,
	} {
		if got := fluxString(in); got != want {
			t.Errorf("fluxString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	for code, rejected := range map[int]bool{
		0: false, 400: true, 401: false, 403: false, 404: false, 413: true, 422: true,
		429: false, 500: false, 503: false,
	} {
		err := classify(fmt.Errorf("ctx: %w", httpError(&influxhttp.Error{StatusCode: code, Header: http.Header{}})))
		var rej *store.RejectedError
		if errors.As(err, &rej) != rejected {
			t.Errorf("HTTP %d: rejected = %v, want %v (%v)", code, !rejected, rejected, err)
		}
	}
	plain := errors.New("connection refused")
	if got := classify(plain); got != plain {
		t.Errorf("network error changed to %v", got)
	}
}

func TestNewOptions(t *testing.T) {
	for _, o := range []Options{
		{URL: "localhost:8086", Bucket: "b"},
		{URL: "ftp://h", Bucket: "b"},
		{URL: "http://u:secret@h:8086", Bucket: "b"},
		{URL: "http://h:8086"},
		{URL: "http://h:8086", Bucket: "b", BatchSize: -1},
	} {
		s, err := New(o)
		if err == nil {
			s.Close()
			t.Errorf("New(%+v): no error", o)
		} else if o.URL == "http://u:secret@h:8086" && containsSecret(err) {
			t.Errorf("error leaks credentials: %v", err)
		}
	}
	s, err := New(Options{URL: "https://h:8086/", Bucket: "db/rp", Token: "user:pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.batchSize != DefaultBatchSize || s.timeout != DefaultTimeout || s.url != "https://h:8086" {
		t.Errorf("defaults: %+v", s)
	}
	if want := "https://h:8086/api/v2/write?bucket=db%2Frp&org=&precision=s"; s.writeS != want {
		t.Errorf("write URL %s, want %s", s.writeS, want)
	}
}

func containsSecret(err error) bool {
	return err != nil && strings.Contains(err.Error(), "secret")
}

// TestWriteStatus checks the classification of server answers end to end,
// against a fake server (the real one cannot be made to answer 429 or 503).
func TestWriteStatus(t *testing.T) {
	for _, c := range []struct {
		code     int
		body     string
		rejected bool
	}{
		{204, "", false},
		{400, `{"error":"partial write: field type conflict"}`, true},
		{404, `{"code":"not found","message":"bucket \"b\" not found"}`, false},
		{413, "", true},
		{429, "", false},
		{500, `{"error":"engine: cache-max-memory-size exceeded"}`, false},
		{503, "", false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v2/write" || r.Header.Get("Content-Encoding") != "gzip" ||
				r.Header.Get("Authorization") != "Token user:pw" || r.URL.Query().Get("bucket") != "db/rp" {
				http.Error(w, "unexpected request "+r.URL.String(), http.StatusTeapot)
				return
			}
			if c.body != "" {
				w.Header().Set("Content-Type", "application/json")
			}
			w.WriteHeader(c.code)
			fmt.Fprint(w, c.body)
		}))
		s, err := New(Options{URL: srv.URL, Bucket: "db/rp", Token: "user:pw"})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Write(context.Background(), []sample.Sample{{
			Series: sample.Series{Measurement: sample.Power, Device: "d"}, Time: time.Unix(1, 0),
			Fields: []sample.Field{sample.F("power_w", 1)},
		}})
		s.Close()
		srv.Close()
		var rej *store.RejectedError
		switch {
		case c.code == 204 && err != nil:
			t.Errorf("HTTP 204: %v", err)
		case c.code != 204 && err == nil:
			t.Errorf("HTTP %d: no error", c.code)
		case c.code != 204 && errors.As(err, &rej) != c.rejected:
			t.Errorf("HTTP %d: %v: rejected = %v, want %v", c.code, err, !c.rejected, c.rejected)
		case err != nil && strings.Contains(err.Error(), "user:pw"):
			t.Errorf("HTTP %d: error leaks the token: %v", c.code, err)
		}
		if err != nil {
			t.Logf("HTTP %d: %v", c.code, err)
		}
	}
}

func TestWriteCanceled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s, err := New(Options{URL: srv.URL, Bucket: "db/rp", BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := benchBatches(1, 100)[0]
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatalf("write: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = s.Write(ctx, batch)
	var rej *store.RejectedError
	if !errors.Is(err, context.Canceled) || errors.As(err, &rej) {
		t.Fatalf("write with a canceled context: %v, want a retryable context.Canceled", err)
	}
}

// A rollup's packed value reads back exactly, counter or not; anything
// else is an error, never a figure.
func TestRollupValueRoundTrip(t *testing.T) {
	hour := time.Date(2025, 10, 1, 3, 0, 0, 0, time.UTC)
	for _, h := range []store.Hourly{
		{PowerSamples: 60, PowerMeanW: 57240.123456789, CounterSamples: 0},
		{PowerSamples: 0, CounterSamples: 2, CounterFirstKWh: 1e-9, CounterLastKWh: 123456789.25,
			CounterFirstAt: hour.Add(7), CounterLastAt: hour.Add(59*time.Minute + 59*time.Second + 999999999)},
		{PowerSamples: 1, PowerMeanW: -0.1, CounterSamples: 1, CounterFirstKWh: 0.3, CounterLastKWh: 0.3,
			CounterFirstAt: hour, CounterLastAt: hour},
	} {
		h.Hour = hour
		line := string(appendRollupValue(nil, &h))
		var got store.Hourly
		got.Hour = hour
		if err := parseRollupValue(line, &got); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		want := h
		if want.PowerSamples > 0 {
			want.PowerMeanW /= float64(want.PowerSamples) // written as the sum
		}
		if got != want {
			t.Errorf("%q read back as %+v, want %+v", line, got, want)
		}
	}
	day := map[int]string{23: "1 2 0", 0: "3 4 0", 7: "5 6 1 7 8 9 10"}
	line := string(appendDay(nil, sample.Series{Measurement: sample.Power, Device: "d 1", Meter: "total"}, hour.UnixNano()-3*int64(time.Hour), day))
	if want := `ecometer_power_hourly,device=d\ 1,meter=total v="0=3 4 0;7=5 6 1 7 8 9 10;23=1 2 0" 1759276800` + "\n"; line != want {
		t.Errorf("appendDay = %q, want %q", line, want)
	}
	if got, err := splitDay("0=3 4 0;7=5 6 1 7 8 9 10;23=1 2 0"); err != nil || !maps.Equal(got, day) {
		t.Errorf("splitDay = %v, %v; want %v", got, err, day)
	}
	for _, bad := range []string{"24=1 2 0", "x=1 2 0", "1=", "1=1 2 0;1=1 2 0", "1 2 0", ";"} {
		if got, err := splitDay(bad); err == nil {
			t.Errorf("splitDay(%q) accepted: %v", bad, got)
		}
	}
	for _, bad := range []string{"", "60", "60 1 0 5", "60 x 0", "1 2 1", "1 2 0 3 4 5 6", "1 2 1 3 4 5 6 7", "-1 2 0", "1 2 1 3 4 5 z"} {
		var h store.Hourly
		if err := parseRollupValue(bad, &h); err == nil {
			t.Errorf("parseRollupValue(%q) accepted: %+v", bad, h)
		}
	}
}
