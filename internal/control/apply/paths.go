package apply

import (
	"path/filepath"
	"time"

	"github.com/ecometer/ecometer/config"
)

// AuditPath is the audit log of cfg (control.audit_log, default
// <data_dir>/control/audit.jsonl).
func AuditPath(cfg *config.Config) string {
	if cfg.Control.AuditLog != "" {
		return cfg.Control.AuditLog
	}
	return filepath.Join(cfg.Storage.DataDir, "control", "audit.jsonl")
}

// LockPath is the applier lock of cfg (control.lock_file, default
// <data_dir>/control/apply.lock).
func LockPath(cfg *config.Config) string {
	if cfg.Control.LockFile != "" {
		return cfg.Control.LockFile
	}
	return filepath.Join(cfg.Storage.DataDir, "control", "apply.lock")
}

// RunnerSettings are the verification timings of cfg with their defaults.
func RunnerSettings(cfg *config.Config) (timeout, interval time.Duration) {
	timeout, interval = cfg.Control.VerifyTimeout.Std(), cfg.Control.VerifyInterval.Std()
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	if interval <= 0 {
		interval = 5 * time.Second
	}
	return timeout, interval
}
