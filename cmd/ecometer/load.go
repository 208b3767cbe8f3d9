package main

import (
	"fmt"

	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/config"
)

// loadAndCheck loads and validates a configuration file, including the checks
// that need other packages (SNMP profile names). Like config.Load it returns
// the configuration read so far together with every problem found.
func loadAndCheck(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if cfg == nil {
		return nil, err
	}
	return cfg, checkProfiles(cfg, err)
}

// checkProfiles adds the problems of unknown SNMP profile names to err.
func checkProfiles(cfg *config.Config, err error) error {
	reg, rerr := snmp.Embedded()
	if rerr != nil {
		return fmt.Errorf("built-in SNMP profiles: %w", rerr)
	}
	var names []string
	for _, p := range reg.Profiles() {
		names = append(names, p.Name)
	}
	return config.Merge(err, cfg.CheckProfiles(names))
}
