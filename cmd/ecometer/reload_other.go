//go:build !unix

package main

import "errors"

var errNoProcess = errors.New("no such process")

// sendReload: without SIGHUP, a reload is a restart of the service.
func sendReload(int) error {
	return errors.New("reload needs SIGHUP (Linux, macOS, BSD); restart the service instead")
}
