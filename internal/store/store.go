// Package store defines how samples are written and read, independent of the
// backend: the embedded SQLite store (internal/store/sqlite), InfluxDB
// (internal/store/influx) and the durable outbox in front of InfluxDB
// (internal/store/outbox). Callers hold a Writer or a Reader and never know
// which backend they have.
package store

import (
	"context"
	"time"

	"github.com/ecometer/ecometer/models/sample"
)

// Writer takes batches of samples. A sample written twice (same series, same
// time) overwrites the earlier one: it is never counted twice.
type Writer interface {
	Write(ctx context.Context, batch []sample.Sample) error
}

// Query selects series and a time range [From, To). Empty string fields match
// any value.
type Query struct {
	Measurement string // required
	Site        string
	Device      string
	Meter       string
	From, To    time.Time
}

// Hourly is one meter's aggregate over one clock hour (UTC), as the energy
// model needs it. Aggregation happens in the backend (SQL, Flux), not over raw
// points in Go.
type Hourly struct {
	Series sample.Series
	Hour   time.Time // start of the hour, UTC

	PowerSamples int     // number of samples with power_w
	PowerMeanW   float64 // mean power_w over those samples (0 when none)

	CounterSamples  int // number of samples with energy_kwh
	CounterFirstKWh float64
	CounterLastKWh  float64
	CounterFirstAt  time.Time
	CounterLastAt   time.Time
}

// Reader reads samples back.
type Reader interface {
	// Latest returns the newest sample of every series that matches q
	// (q.From and q.To are ignored).
	Latest(ctx context.Context, q Query) ([]sample.Sample, error)
	// Range calls fn for every sample in q's range, ordered by series, then time.
	Range(ctx context.Context, q Query, fn func(sample.Sample) error) error
	// Hourly returns per-meter hourly aggregates of the power measurement,
	// ordered by series, then hour. q.Measurement is ignored.
	Hourly(ctx context.Context, q Query) ([]Hourly, error)
	// HourlyEach calls fn for every aggregate Hourly would return, as they
	// are read, ordered by series, then hour: memory stays bounded however
	// long the range (a year of 5,000 meters is 44 M aggregates, ≈ 10 GB as
	// one slice). An error from fn stops the iteration and is returned as
	// is. q.Measurement is ignored.
	HourlyEach(ctx context.Context, q Query, fn func(Hourly) error) error
}

// Store is a backend that can both write and read.
type Store interface {
	Writer
	Reader
	Close() error
}

// RejectedError means the backend refused a batch as malformed (for InfluxDB an
// HTTP 4xx other than 429): retrying the same batch cannot succeed, so the
// outbox quarantines it instead of blocking the queue.
type RejectedError struct{ Err error }

func (e *RejectedError) Error() string { return "rejected: " + e.Err.Error() }
func (e *RejectedError) Unwrap() error { return e.Err }
