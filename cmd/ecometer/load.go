package main

import (
	"fmt"
	"os"

	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/config"
)

// loadAndCheck loads and validates a configuration file, including the checks
// that need other packages (SNMP profile names, built-in and from
// collection.profiles_dir). Like config.Load it returns the configuration
// read so far together with every problem found.
func loadAndCheck(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if cfg == nil {
		return nil, err
	}
	return cfg, checkProfiles(cfg, err)
}

// checkProfiles adds the problems of collection.profiles_dir and of unknown
// SNMP profile names to err.
func checkProfiles(cfg *config.Config, err error) error {
	reg, perr := profilesOf(cfg)
	if perr != nil {
		return config.Merge(err, perr)
	}
	var names []string
	for _, p := range reg.Profiles() {
		names = append(names, p.Name)
	}
	return config.Merge(err, cfg.CheckProfiles(names))
}

// profilesOf returns the SNMP profiles a configuration can use: the built-in
// ones plus those in collection.profiles_dir. A problem with the directory
// is returned as config.Problems, so that it is reported like the others.
func profilesOf(cfg *config.Config) (*snmp.Registry, error) {
	dir := cfg.Collection.ProfilesDir
	if dir == "" {
		reg, err := snmp.Embedded()
		if err != nil {
			return nil, fmt.Errorf("built-in SNMP profiles: %w", err)
		}
		return reg, nil
	}
	problem := func(format string, args ...any) error {
		return config.Problems{{File: cfg.File(), Path: "collection.profiles_dir", Message: fmt.Sprintf(format, args...)}}
	}
	// LoadDir finds nothing in a missing directory; a typo must not pass
	// silently as "no user profiles".
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return nil, problem("%v", err)
	case !fi.IsDir():
		return nil, problem("%s is not a directory", dir)
	}
	reg, err := snmp.LoadDir(dir)
	if err != nil {
		return nil, problem("profiles in %s: %v", dir, err)
	}
	return reg, nil
}
