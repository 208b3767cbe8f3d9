package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/energinet"
)

// openStore opens the configured store (backend.Open); a read command
// passes backend.ReadOnly.
func openStore(ctx context.Context, cfg *config.Config, mode backend.Mode) (backend.Store, string, error) {
	st, where, err := backend.Open(ctx, cfg, mode)
	if err != nil {
		return nil, "", storeError(err)
	}
	return st, where, nil
}

// storeError says what to do about a store that cannot be opened.
func storeError(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w\n(a read command never creates a store: is storage.data_dir right? A relative one is taken from the config file's directory. Or nothing was collected yet: ecometer serve)", err)
	}
	return err
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
const gridSource = energinet.Attribution

// accountingView is what a read command works on: the configured store,
// opened read-only, and the accounting over it.
type accountingView struct {
	st    backend.Store
	where string
	acc   *accounting.Accounting
}

func (v *accountingView) Close() error { return v.st.Close() }

// openAccounting opens cfg's store read-only with its accounting.
func openAccounting(ctx context.Context, cfg *config.Config) (*accountingView, error) {
	st, where, err := openStore(ctx, cfg, backend.ReadOnly)
	if err != nil {
		return nil, err
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &accountingView{st: st, where: where, acc: acc}, nil
}
