//go:build !unix

package bench

import (
	"errors"
	"time"
)

// Usage is the process's CPU time so far and its peak resident set.
type Usage struct {
	CPU    time.Duration // user + system
	MaxRSS int64         // bytes
}

func ReadUsage() (Usage, error) {
	return Usage{}, errors.New("bench: measuring CPU time needs getrusage (Linux, macOS, BSD)")
}
