package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/server"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/sample"
)

// failingWriter fails every write, as a full disk would.
type failingWriter struct{}

func (failingWriter) Write(context.Context, []sample.Sample) error {
	return errors.New("disk I/O error")
}

func TestHealthFollowsTheStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	polls := server.NewPolls("pdu-a")
	svc := &service{embedded: st, writer: &watchedWriter{w: st, readings: server.NewReadings()}, polls: polls, ready: true}
	good := []sample.Sample{{Series: sample.Series{Measurement: sample.Device, Device: "pdu-a", Source: "snmp"},
		Time: time.Unix(1_700_000_000, 0), Fields: []sample.Field{sample.B("reachable", true)}}}

	if err := svc.writer.Write(ctx, good); err != nil {
		t.Fatal(err)
	}
	if h := svc.health(ctx); h.Store != nil || len(h.Devices) != 1 || h.Outbox != nil {
		t.Errorf("healthy store: %+v", h)
	}
	// A malformed sample is the collector's fault, not the store's.
	bad := []sample.Sample{{Series: sample.Series{Measurement: "nope", Device: "pdu-a"}, Time: time.Unix(1, 0)}}
	if err := svc.writer.Write(ctx, bad); err == nil {
		t.Fatal("malformed sample accepted")
	}
	if h := svc.health(ctx); h.Store != nil {
		t.Errorf("after a malformed sample: Store = %v, want nil", h.Store)
	}
	// A write the store fails makes it unhealthy until one succeeds.
	svc.writer.w = failingWriter{}
	if err := svc.writer.Write(ctx, good); err == nil {
		t.Fatal("failing writer succeeded")
	}
	if h := svc.health(ctx); h.Store == nil || !strings.Contains(h.Store.Error(), "disk I/O error") {
		t.Errorf("after a failed write: Store = %v", h.Store)
	}
	svc.writer.w = st
	if err := svc.writer.Write(ctx, good); err != nil {
		t.Fatal(err)
	}
	if h := svc.health(ctx); h.Store != nil {
		t.Errorf("after a good write: Store = %v", h.Store)
	}
	// A closed database cannot be read.
	st.Close()
	if h := svc.health(ctx); h.Store == nil {
		t.Error("closed store reported healthy")
	}
}

func TestLingerStaysBelowTheShortestInterval(t *testing.T) {
	for _, tc := range []struct{ shortest, want time.Duration }{
		{0, time.Second},
		{time.Hour, time.Second},
		{time.Minute, time.Second},
		{5 * time.Second, 500 * time.Millisecond},
		{time.Second, 100 * time.Millisecond},
		{50 * time.Millisecond, 10 * time.Millisecond},
	} {
		if got := lingerFor(tc.shortest); got != tc.want {
			t.Errorf("lingerFor(%s) = %s, want %s", tc.shortest, got, tc.want)
		}
	}
}
