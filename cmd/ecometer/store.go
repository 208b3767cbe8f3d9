package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/influx"
	"github.com/ecometer/ecometer/internal/store/sqlite"
)

// dataStore is what commands read and write: samples and grid intensity.
// Both backends implement it.
type dataStore interface {
	store.Store
	store.GridStore
}

// openStore opens the store the configuration names: InfluxDB when
// storage.influxdb.url is set, else the embedded SQLite store in
// storage.data_dir. It also returns a one-line description for output.
func openStore(ctx context.Context, cfg *config.Config) (dataStore, string, error) {
	st := cfg.Storage
	if st.InfluxDB.Configured() {
		token, err := st.InfluxDB.Token.Resolve()
		if err != nil {
			return nil, "", fmt.Errorf("storage.influxdb.token: %w", err)
		}
		s, err := influx.New(influx.Options{
			URL: st.InfluxDB.URL, Org: st.InfluxDB.Org, Bucket: st.InfluxDB.Bucket, Token: token,
			Timeout: st.InfluxDB.Timeout.Std(), BatchSize: st.InfluxDB.BatchSize,
		})
		if err != nil {
			return nil, "", err
		}
		return s, fmt.Sprintf("InfluxDB at %s, bucket %s", st.InfluxDB.URL, st.InfluxDB.Bucket), nil
	}
	s, err := openEmbedded(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	return s, "embedded SQLite in " + st.DataDir, nil
}

// openEmbedded opens the embedded SQLite store in storage.data_dir. It holds
// the samples when no InfluxDB is configured, and always the asset inventory.
func openEmbedded(ctx context.Context, cfg *config.Config) (*sqlite.Store, error) {
	return sqlite.Open(ctx, sqlite.Options{Path: cfg.Storage.DataDir, RawRetention: cfg.Storage.SQLite.RetentionRaw.Std()})
}

// loadConfigOrDefault loads file, or returns the defaults (embedded store in
// ./ecometer-data) when file is empty, with a note saying so. An invalid
// config prints its problems to errOut and gives exit code 2.
func loadConfigOrDefault(file string, errOut io.Writer) (*config.Config, string, error) {
	if file == "" {
		return config.DefaultConfig(), " (no --config given: default settings)", nil
	}
	cfg, err := readConfig(file, errOut)
	return cfg, "", err
}

// readConfig loads a required config file; problems go to errOut, exit 2.
func readConfig(file string, errOut io.Writer) (*config.Config, error) {
	cfg, err := config.Load(file)
	if err != nil {
		return nil, configError(file, err, errOut)
	}
	return cfg, nil
}

// progressTo returns where progress goes: errOut when it is a terminal, else
// nowhere, so that piped and captured output stays clean.
func progressTo(errOut io.Writer) io.Writer {
	if f, ok := errOut.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return f
		}
	}
	return io.Discard
}

// gridSource is the attribution Energinet's licence (CC BY 4.0) asks for.
const gridSource = "Source: Energinet (www.energidataservice.dk)"
