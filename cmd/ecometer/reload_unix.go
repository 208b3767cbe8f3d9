//go:build unix

package main

import (
	"errors"
	"syscall"
)

var errNoProcess = syscall.ESRCH

// sendReload sends SIGHUP to the serve process.
func sendReload(pid int) error {
	err := syscall.Kill(pid, syscall.SIGHUP)
	if errors.Is(err, syscall.ESRCH) {
		return errNoProcess
	}
	return err
}
