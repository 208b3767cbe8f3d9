package examples

import "embed"

// Copyable holds the examples `ecometer demo` copies into its output
// directory and uses there, so that the commands it prints work on them from
// any working directory: the power policies (policies/*.yaml), the
// procurement sheets (procurement/*) and the asset inventory
// (inventory.csv).
//
//go:embed policies/*.yaml procurement/* inventory.csv
var Copyable embed.FS
