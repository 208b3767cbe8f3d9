// Package examples holds the sample configuration, embedded so that
// `ecometer demo` works without any file on disk.
package examples

import _ "embed"

// SiteYAML is examples/site.yaml: a datacenter of the region, used by
// `ecometer demo` and kept valid by tests.
//
//go:embed site.yaml
var SiteYAML []byte
