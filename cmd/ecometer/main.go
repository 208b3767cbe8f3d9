// Command ecometer meters the energy use of IT infrastructure and reports
// it as kWh, CO2e and PUE. Each command group lives in its own file; the
// files only parse flags and call the packages that do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/targetview"
	"github.com/ecometer/ecometer/reports/delivery"
)

// Exit codes, documented in the root command's help.
const (
	exitOK      = 0
	exitRuntime = 1 // something failed while running
	exitBadUse  = 2 // invalid configuration or wrong command line
)

const rootDescription = `ecometer meters the energy use of a hospital region's IT infrastructure:
PDUs, UPSs, switches and servers (over SNMP and Redfish) and facility meters.
It turns the readings into kWh, CO2e (location- and market-based) and PUE
for the sustainability office, and checks it all against the 2030 target.

Everything is set in one YAML file; examples/site.yaml is a full example.
Secrets are never written in it: use env:NAME or file:/path references.

Examples:
   ecometer demo                          run on the built-in example site
   ecometer config validate site.yaml     check a config file, with line numbers
   ecometer config show --json site.yaml  print it with all defaults filled in

Exit codes:
   0  success
   1  runtime error
   2  invalid configuration, or wrong command-line usage`

func main() {
	os.Exit(run(context.Background(), os.Args, os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit code. Errors
// are printed here, once, as "ecometer: <error>".
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := newRootCommand(stdout, stderr).Run(ctx, args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "ecometer: %v\n", err)
	return exitCode(err)
}

// exitCode maps an error to the process exit code: usage errors and the
// packages' configuration errors are 2, the rest 1.
func exitCode(err error) int {
	var (
		ee     *exitError
		chain  *accounting.ChainError
		device *collection.DeviceError
		secret *backend.SecretError
		tgt    *targetview.TargetError
		mail   *delivery.SecretError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &chain), errors.As(err, &device), errors.As(err, &secret), errors.As(err, &tgt), errors.As(err, &mail):
		return exitBadUse
	}
	return exitRuntime
}

func newRootCommand(stdout, stderr io.Writer) *cli.Command {
	root := &cli.Command{
		Name:        "ecometer",
		Usage:       "energy and carbon metering for IT infrastructure",
		UsageText:   "ecometer <command> [options] [arguments]",
		Description: rootDescription,
		Writer:      stdout,
		ErrWriter:   stderr,
		HideVersion: true, // `ecometer version` says more than --version could
		Commands: []*cli.Command{
			newAnomaliesCommand(),
			newBenchCommand(),
			newConfigCommand(),
			newCO2Command(),
			newDemoCommand(),
			newEnergyCommand(),
			newGridCommand(),
			newIdleCommand(),
			newInventoryCommand(),
			newPowerCommand(),
			newProbeCommand(),
			newReadingsCommand(),
			newProcureCommand(),
			newReportCommand(),
			newReloadCommand(),
			newServeCommand(),
			newSimulateCommand(),
			newVersionCommand(),
		},
		// run decides the exit code; the default handler would call os.Exit.
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("unknown command %q (see ecometer --help)", cmd.Args().First())
			}
			return cli.ShowRootCommandHelp(cmd)
		},
	}
	setUsageErrorHandler(root)
	return root
}

// setUsageErrorHandler makes flag errors of every command exit with code 2.
func setUsageErrorHandler(cmd *cli.Command) {
	cmd.OnUsageError = func(_ context.Context, c *cli.Command, err error, _ bool) error {
		return usageErrorf("%s: %v (see %s --help)", commandPath(c), err, c.FullName())
	}
	for _, sub := range cmd.Commands {
		setUsageErrorHandler(sub)
	}
}

// exitError carries the exit code an error should end the process with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitBadUse, err: fmt.Errorf(format, args...)}
}

// streams are the outputs a command writes to; tests pass buffers.
type streams struct {
	Out    io.Writer
	ErrOut io.Writer
}

func streamsOf(cmd *cli.Command) streams {
	root := cmd.Root()
	return streams{Out: root.Writer, ErrOut: root.ErrWriter}
}

// oneArg returns the single positional argument a command requires.
func oneArg(cmd *cli.Command, name string) (string, error) {
	if cmd.Args().Len() != 1 {
		return "", usageErrorf("%s: want exactly one %s argument, got %d (usage: %s)",
			commandPath(cmd), name, cmd.Args().Len(), cmd.UsageText)
	}
	return cmd.Args().First(), nil
}

// commandPath names a command for messages that are already prefixed with
// "ecometer: ", e.g. "config validate".
func commandPath(cmd *cli.Command) string {
	return strings.TrimPrefix(cmd.FullName(), cmd.Root().Name+" ")
}

// plural renders "1 site", "2 sites".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
