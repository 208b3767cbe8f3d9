package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/examples"
)

// demoConfigName is how the embedded example is named in messages.
const demoConfigName = "examples/site.yaml (embedded)"

func newDemoCommand() *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "show ecometer on the built-in example site, no devices needed",
		UsageText: "ecometer demo",
		Description: "Loads the example configuration built into the binary (examples/site.yaml),\n" +
			"summarises the site, its devices and where samples would be stored, and\n" +
			"prints the effective configuration.\n\n" +
			"Example:\n   ecometer demo",
		Action: func(ctx context.Context, cmd *cli.Command) error {
			return runDemo(ctx, demoOptions{Config: examples.SiteYAML}, streamsOf(cmd))
		},
	}
}

type demoOptions struct {
	// Config is the YAML to run on; the command passes the embedded example.
	Config []byte
}

// runDemo runs the demo in steps, so that a simulated collection run can
// be added between the summary and the configuration.
func runDemo(_ context.Context, opts demoOptions, s streams) error {
	cfg, err := config.Parse(demoConfigName, opts.Config)
	if err != nil {
		// The example is embedded and tested, so this is a build defect.
		return fmt.Errorf("demo: %s is invalid:\n%w", demoConfigName, err)
	}
	if err := writeDemoSummary(s.Out, summarize(cfg)); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.Out, "\nEffective configuration (ecometer config show):\n\n"); err != nil {
		return err
	}
	return cfg.WriteYAML(s.Out)
}

// demoSummary is what the demo says about a configuration.
type demoSummary struct {
	Source    string
	Sites     []config.Site
	Classes   []classCount
	Protected []string
	Storage   string
}

type classCount struct {
	Class   config.DeviceClass
	Devices []string
}

func summarize(cfg *config.Config) demoSummary {
	sum := demoSummary{Source: cfg.File(), Sites: cfg.Sites, Storage: describeStorage(cfg.Storage)}
	byClass := map[config.DeviceClass][]string{}
	for _, d := range cfg.Devices {
		byClass[d.Class] = append(byClass[d.Class], d.Name)
		switch {
		case d.Criticality == config.CriticalityPatientCritical:
			sum.Protected = append(sum.Protected, d.Name+" (patient-critical)")
		case slices.Contains(cfg.Control.DenyList, d.Name):
			sum.Protected = append(sum.Protected, d.Name+" (deny list)")
		}
	}
	for _, c := range []config.DeviceClass{config.ClassFacility, config.ClassUPS, config.ClassPDU, config.ClassSwitch, config.ClassServer} {
		if names := byClass[c]; len(names) > 0 {
			sum.Classes = append(sum.Classes, classCount{Class: c, Devices: names})
		}
	}
	return sum
}

// describeStorage says where samples go and why.
func describeStorage(s config.Storage) string {
	if s.InfluxDB.Configured() {
		return fmt.Sprintf("InfluxDB at %s, bucket %s, through the outbox in %s (budget %s)",
			s.InfluxDB.URL, s.InfluxDB.Bucket, s.Outbox.Dir, s.Outbox.DiskBudget)
	}
	return fmt.Sprintf("embedded SQLite in %s, raw samples kept %s (no storage.influxdb.url set)",
		s.DataDir, s.SQLite.RetentionRaw)
}

func writeDemoSummary(out io.Writer, sum demoSummary) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ecometer demo: %s\n\n", sum.Source)
	fmt.Fprintf(tw, "Sites (%d):\n", len(sum.Sites))
	for _, s := range sum.Sites {
		fmt.Fprintf(tw, "  %s\t%s\t%s\taccounting %s\tassumed PUE %.2f\n", s.Name, s.PriceArea, s.Timezone, s.Accounting, s.AssumedPUE)
	}
	n := 0
	for _, c := range sum.Classes {
		n += len(c.Devices)
	}
	fmt.Fprintf(tw, "\nDevices (%d):\n", n)
	for _, c := range sum.Classes {
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", c.Class, len(c.Devices), strings.Join(c.Devices, ", "))
	}
	if len(sum.Protected) > 0 {
		fmt.Fprintf(tw, "\nNever switched by the controller: %s\n", strings.Join(sum.Protected, ", "))
	}
	fmt.Fprintf(tw, "\nStorage: %s\n", sum.Storage)
	return tw.Flush()
}
