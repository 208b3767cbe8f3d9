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
// named after it, and its Redfish BMC mockup trees (demo/redfish/DEVICE/,
// the URL path /redfish/v1/X is X/index.json), all written for ecometer
// from the MIB texts and the DMTF Redfish schema.
//
//go:embed demo/*.snmprec demo/redfish
var Demo embed.FS
