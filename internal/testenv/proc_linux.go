package testenv

import "syscall"

// sysProcAttr puts the server in its own process group (so it can be signalled
// as a whole) and has the kernel kill it if the test binary dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
