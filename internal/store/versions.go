package store

import (
	"context"
	"strings"
	"time"
)

// SampleVersions identify the state of a store's power samples, day by UTC
// day, for caches of figures computed from them.
type SampleVersions struct {
	// Store identifies the database (not its location: a copy keeps it,
	// a new database gets another).
	Store string
	// Days holds, by the start of the UTC day, a token that the backend
	// replaces whenever power samples of that day are written. A day
	// without a token has not been written since the backend began to
	// keep them.
	Days map[time.Time]string
}

// Of returns the versions of the UTC days that overlap [from, to), joined:
// equal for two snapshots exactly when no power sample of those days was
// written between them.
func (v SampleVersions) Of(from, to time.Time) string {
	var b strings.Builder
	from, to = from.UTC(), to.UTC()
	for d := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC); d.Before(to); d = d.AddDate(0, 0, 1) {
		if tok, ok := v.Days[d]; ok {
			b.WriteString(d.Format("2006-01-02"))
			b.WriteByte('=')
			b.WriteString(tok)
			b.WriteByte(';')
		}
	}
	return b.String()
}

// SampleVersioner is a store that versions its power samples (see
// SampleVersions). The versions of a backend must change with every write
// of power samples, by any writer, or not be offered at all: a cache trusts
// them never to serve a figure of samples that have changed since.
type SampleVersioner interface {
	SamplesVersions(ctx context.Context) (SampleVersions, error)
}
