//go:build race

package anomalies

// raceEnabled: under the race detector the embedded SQLite store (C
// translated to Go) runs some forty times slower, so the labelled set is
// the -short one.
const raceEnabled = true
