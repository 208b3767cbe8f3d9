package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/collection"
)

func newConfigCommand() *cli.Command {
	return &cli.Command{
		Name:      "config",
		Usage:     "check and print configuration files",
		UsageText: "ecometer config <validate|show> [options] FILE",
		Description: "Problems are reported as FILE:LINE:COLUMN: PATH: MESSAGE, all at once.\n\n" +
			"Examples:\n   ecometer config validate /etc/ecometer/site.yaml\n   ecometer config show site.yaml",
		Commands: []*cli.Command{
			{
				Name:      "validate",
				Usage:     "check a config file and report every problem with its line",
				UsageText: "ecometer config validate FILE",
				Description: "Prints \"FILE: OK (N sites, M devices)\", or one line per problem and exits 2.\n" +
					"Secrets are checked to be references but not read.\n\n" +
					"Example:\n   ecometer config validate examples/site.yaml",
				Action: func(_ context.Context, cmd *cli.Command) error {
					file, err := oneArg(cmd, "FILE")
					if err != nil {
						return err
					}
					return runValidate(validateOptions{File: file}, streamsOf(cmd))
				},
			},
			{
				Name:      "show",
				Usage:     "print the effective config, defaults filled in, secrets redacted",
				UsageText: "ecometer config show [--json] FILE",
				Description: "Secrets always print as <redacted>.\n\n" +
					"Examples:\n   ecometer config show site.yaml\n   ecometer config show --json site.yaml | jq '.devices[].name'",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "json", Usage: "print JSON instead of YAML"},
				},
				Action: func(_ context.Context, cmd *cli.Command) error {
					file, err := oneArg(cmd, "FILE")
					if err != nil {
						return err
					}
					return runShow(showOptions{File: file, JSON: cmd.Bool("json")}, streamsOf(cmd))
				},
			},
		},
	}
}

type validateOptions struct {
	File string
}

// runValidate prints the problems to Out, as they are the command's result.
func runValidate(opts validateOptions, s streams) error {
	cfg, err := collection.Load(opts.File)
	if err != nil {
		return configError(opts.File, err, s.Out)
	}
	_, err = fmt.Fprintf(s.Out, "%s: OK (%s, %s)\n", opts.File,
		plural(len(cfg.Sites), "site"), plural(len(cfg.Devices), "device"))
	return err
}

type showOptions struct {
	File string
	JSON bool
}

// runShow prints the problems of an invalid config to ErrOut, keeping Out
// for the config itself.
func runShow(opts showOptions, s streams) error {
	cfg, err := collection.Load(opts.File)
	if err != nil {
		return configError(opts.File, err, s.ErrOut)
	}
	if opts.JSON {
		return cfg.WriteJSON(s.Out)
	}
	return cfg.WriteYAML(s.Out)
}

// configError prints a config's problems, one per line, to w and returns a
// one-line error with exit code 2.
func configError(file string, err error, w io.Writer) error {
	var problems config.Problems
	if !errors.As(err, &problems) {
		return &exitError{code: exitBadUse, err: err}
	}
	if _, werr := fmt.Fprintln(w, problems.Error()); werr != nil {
		return werr
	}
	return &exitError{code: exitBadUse, err: fmt.Errorf("%s: invalid config (%s)", file, plural(len(problems), "problem"))}
}
