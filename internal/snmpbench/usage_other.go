//go:build !unix

package snmpbench

import (
	"errors"
	"time"
)

// usage is the process's CPU time so far and its peak resident set.
type usage struct {
	CPU    time.Duration // user + system
	MaxRSS int64         // bytes
}

func readUsage() (usage, error) {
	return usage{}, errors.New("bench: measuring CPU time needs getrusage (Linux, macOS, BSD)")
}
