//go:build unix

package bench

import (
	"runtime"
	"syscall"
	"time"
)

// Usage is the process's CPU time so far and its peak resident set.
type Usage struct {
	CPU    time.Duration // user + system
	MaxRSS int64         // bytes
}

func ReadUsage() (Usage, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Usage{}, err
	}
	u := Usage{CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), MaxRSS: int64(ru.Maxrss)}
	if runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
		u.MaxRSS *= 1024 // kilobytes everywhere but on Apple systems
	}
	return u, nil
}
