//go:build !race

package anomalies

const raceEnabled = false
