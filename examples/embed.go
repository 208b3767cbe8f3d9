// Package examples holds the sample configurations, embedded so that
// `ecometer demo` works without any file on disk.
package examples

import "embed"

// SiteYAML is examples/site.yaml: a datacenter of the region, kept valid by
// tests.
//
//go:embed site.yaml
var SiteYAML []byte

// DemoYAML is examples/demo/site.yaml: the site `ecometer demo` simulates.
//
//go:embed demo/site.yaml
var DemoYAML []byte

// Demo holds the demo's SNMP recordings (demo/*.snmprec), one per device,
// named after it.
//
//go:embed demo/*.snmprec
var Demo embed.FS
