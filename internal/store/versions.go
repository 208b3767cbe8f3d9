package store

import (
	"context"
	"strings"
	"time"
)

// SampleVersions identify the state of a store's power samples, month by
// UTC month, for caches of figures computed from them.
type SampleVersions struct {
	// Store identifies the database (not its location: a copy keeps it,
	// a new database gets another).
	Store string
	// Months holds, by the start of the UTC month, a token that the
	// backend replaces whenever power samples of that month are written.
	// A month without a token has not been written since the backend
	// began to keep them.
	Months map[time.Time]string
}

// Of returns the versions of the UTC months that overlap [from, to),
// joined: equal for two snapshots exactly when no power sample of the range
// was written between them.
func (v SampleVersions) Of(from, to time.Time) string {
	var b strings.Builder
	from, to = from.UTC(), to.UTC()
	for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC); m.Before(to); m = m.AddDate(0, 1, 0) {
		b.WriteString(m.Format("2006-01"))
		b.WriteByte('=')
		b.WriteString(v.Months[m])
		b.WriteByte(';')
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
