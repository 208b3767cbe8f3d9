package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// SampleVersions identify the state of a store's power samples, hour by
// UTC hour, for caches of figures computed from them.
type SampleVersions struct {
	// Store identifies the database (not its location: a copy keeps it,
	// a new database gets another).
	Store string
	// Hours holds, by the start of the UTC hour, a token that the backend
	// replaces whenever power samples of that hour are written. An hour
	// without a token has not been written since the backend began to
	// keep them.
	Hours map[time.Time]string
}

// Of returns the versions of the UTC hours that overlap [from, to), hashed
// into one: equal for two snapshots exactly when no power sample of those
// hours was written between them.
func (v SampleVersions) Of(from, to time.Time) string {
	h := sha256.New()
	from, to = from.UTC(), to.UTC()
	for t := from.Truncate(time.Hour); t.Before(to); t = t.Add(time.Hour) {
		if tok, ok := v.Hours[t]; ok {
			fmt.Fprintf(h, "%d=%s;", t.Unix(), tok)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SampleVersioner is a store that versions its power samples (see
// SampleVersions). The versions of a backend must change with every write
// of power samples, by any writer, or not be offered at all: a cache trusts
// them never to serve a figure of samples that have changed since.
type SampleVersioner interface {
	SamplesVersions(ctx context.Context) (SampleVersions, error)
}
