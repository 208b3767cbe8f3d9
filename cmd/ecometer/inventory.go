package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/models/carbon"
)

func newInventoryCommand() *cli.Command {
	return &cli.Command{
		Name:      "inventory",
		Usage:     "manage the asset inventory behind embodied (Scope 3) emissions",
		UsageText: "ecometer inventory import [--config FILE] FILE",
		Description: "The inventory is a CSV export of the CMDB with the columns asset_id, class,\n" +
			"model, in_service (YYYY-MM-DD), lifetime_years and, when known,\n" +
			"footprint_kg_co2e.\n\n" +
			"Example:\n   ecometer inventory import --config site.yaml cmdb-assets.csv",
		Commands: []*cli.Command{
			{
				Name:      "import",
				Usage:     "store an asset inventory CSV; a bad file stores nothing",
				UsageText: "ecometer inventory import [--config FILE] FILE",
				Description: "Every row is checked first; a bad row is reported as FILE:LINE:COLUMN and\n" +
					"nothing is stored (exit 2). Assets are keyed by asset_id: importing the same\n" +
					"export again changes nothing, a newer export updates the assets it lists.\n" +
					"The inventory is kept in the embedded SQLite store in storage.data_dir, also\n" +
					"when samples go to InfluxDB.\n\n" +
					"Example:\n   ecometer inventory import --config site.yaml cmdb-assets.csv",
				Flags: []cli.Flag{configFlag()},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					file, err := oneArg(cmd, "FILE")
					if err != nil {
						return err
					}
					return runInventoryImport(ctx, inventoryImportOptions{Config: cmd.String("config"), File: file}, streamsOf(cmd))
				},
			},
		},
	}
}

type inventoryImportOptions struct {
	Config string
	File   string
}

func runInventoryImport(ctx context.Context, opts inventoryImportOptions, s streams) error {
	cfg, note, err := loadConfigOrDefault(opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	f, err := os.Open(opts.File)
	if err != nil {
		return &exitError{code: exitBadUse, err: fmt.Errorf("inventory import: %w (nothing imported)", err)}
	}
	assets, err := carbon.ParseInventory(opts.File, f)
	f.Close()
	if err != nil {
		return &exitError{code: exitBadUse, err: fmt.Errorf("inventory import: %w (nothing imported)", err)}
	}
	st, err := backend.OpenEmbedded(ctx, cfg, backend.ReadWrite)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.WriteAssets(ctx, assets)
	if err != nil {
		return err
	}
	classes := map[string]int{}
	withFootprint := 0
	for _, a := range assets {
		classes[a.Class]++
		if a.HasFootprint {
			withFootprint++
		}
	}
	var names []string
	for c, n := range classes {
		names = append(names, fmt.Sprintf("%s %d", c, n))
	}
	slices.Sort(names)
	fmt.Fprintf(s.Out, "%s: %s (%s); %d with a product footprint, %d use their class default\n",
		opts.File, plural(len(assets), "asset"), strings.Join(names, ", "), withFootprint, len(assets)-withFootprint)
	where := "the embedded SQLite store in " + cfg.Storage.DataDir + note
	if cfg.Storage.InfluxDB.Configured() {
		where += " (the inventory is kept there also with InfluxDB, which holds the time series)"
	}
	_, err = fmt.Fprintf(s.Out, "Stored in %s: %d added, %d updated, %d unchanged.\n", where, res.Added, res.Updated, res.Unchanged)
	return err
}
