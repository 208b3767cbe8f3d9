package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v3"
)

// version is set at build time:
//
//	go build -ldflags "-X main.version=v1.2.0" ./cmd/ecometer
var version = "dev"

func newVersionCommand() *cli.Command {
	return &cli.Command{
		Name:        "version",
		Usage:       "print the version, Go version and source revision",
		UsageText:   "ecometer version",
		Description: "Include this output in bug reports.\n\nExample:\n   ecometer version",
		Action: func(_ context.Context, cmd *cli.Command) error {
			return runVersion(streamsOf(cmd).Out, readBuildVersion())
		},
	}
}

// buildVersion describes the running binary.
type buildVersion struct {
	Version  string
	Go       string
	Platform string
	Revision string // empty when built without VCS information
	Time     string
	Modified bool
}

func readBuildVersion() buildVersion {
	v := buildVersion{
		Version:  version,
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	// `go install module@v1.2.0` records the module version.
	if v.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func runVersion(out io.Writer, v buildVersion) error {
	rev := "unknown (built without VCS information)"
	if v.Revision != "" {
		rev = v.Revision
		if v.Time != "" {
			rev += " " + v.Time
		}
		if v.Modified {
			rev += " (modified)"
		}
	}
	_, err := fmt.Fprintf(out, "ecometer %s\ngo:       %s %s\nrevision: %s\n", v.Version, v.Go, v.Platform, rev)
	return err
}
