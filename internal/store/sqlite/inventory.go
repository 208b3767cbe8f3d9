package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/models/carbon"
	"github.com/ecometer/ecometer/models/units"
)

// InventoryResult says what WriteAssets changed.
type InventoryResult struct {
	Added, Updated, Unchanged int
}

// WriteAssets stores an asset inventory in one transaction, keyed by asset
// id: an asset already stored is replaced, so importing the same export twice
// changes nothing. Assets missing from a later export are kept.
//
// The inventory always lives in the embedded store, also when samples go to
// InfluxDB: it is a small table of records, not a time series.
func (s *Store) WriteAssets(ctx context.Context, assets []carbon.Asset) (InventoryResult, error) {
	var res InventoryResult
	for i, a := range assets {
		if a.ID == "" {
			return res, fmt.Errorf("sqlite %s: write inventory: asset %d of %d: empty id", s.path, i, len(assets))
		}
	}
	if err := s.writable(); err != nil {
		return res, fmt.Errorf("sqlite %s: write inventory: %w", s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return res, fmt.Errorf("sqlite %s: write inventory: %w", s.path, errClosed)
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("sqlite %s: write inventory: %w", s.path, err)
	}
	defer tx.Rollback()
	now := s.now().UTC().Format(time.RFC3339)
	for _, a := range assets {
		var fp sql.NullFloat64
		if a.HasFootprint {
			fp = sql.NullFloat64{Float64: float64(a.Footprint), Valid: true}
		}
		var (
			class, model, day string
			life              float64
			oldFP             sql.NullFloat64
		)
		err := tx.QueryRowContext(ctx, `SELECT class, model, in_service, lifetime_years, footprint_kg FROM inventory WHERE asset_id = ?`,
			a.ID).Scan(&class, &model, &day, &life, &oldFP)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res.Added++
		case err != nil:
			return res, fmt.Errorf("sqlite %s: write inventory: asset %s: %w", s.path, a.ID, err)
		case class == a.Class && model == a.Model && day == a.InService.Format(time.DateOnly) && life == a.LifetimeYears && oldFP == fp:
			res.Unchanged++
			continue
		default:
			res.Updated++
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO inventory (asset_id, class, model, in_service, lifetime_years, footprint_kg, imported_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (asset_id) DO UPDATE SET class = excluded.class, model = excluded.model,
			in_service = excluded.in_service, lifetime_years = excluded.lifetime_years,
			footprint_kg = excluded.footprint_kg, imported_at = excluded.imported_at`,
			a.ID, a.Class, a.Model, a.InService.Format(time.DateOnly), a.LifetimeYears, fp, now); err != nil {
			return res, fmt.Errorf("sqlite %s: write inventory: asset %s: %w", s.path, a.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("sqlite %s: write inventory: commit: %w", s.path, err)
	}
	return res, nil
}

// Assets returns the stored inventory, ordered by asset id.
func (s *Store) Assets(ctx context.Context) ([]carbon.Asset, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT asset_id, class, model, in_service, lifetime_years, footprint_kg
		FROM inventory ORDER BY asset_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: inventory: %w", s.path, err)
	}
	defer rows.Close()
	var out []carbon.Asset
	for rows.Next() {
		var a carbon.Asset
		var day string
		var fp sql.NullFloat64
		if err := rows.Scan(&a.ID, &a.Class, &a.Model, &day, &a.LifetimeYears, &fp); err != nil {
			return nil, fmt.Errorf("sqlite %s: inventory: %w", s.path, err)
		}
		if a.InService, err = time.Parse(time.DateOnly, day); err != nil {
			return nil, fmt.Errorf("sqlite %s: inventory: asset %s: %w", s.path, a.ID, err)
		}
		if fp.Valid {
			a.Footprint, a.HasFootprint = units.KgCO2e(fp.Float64), true
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite %s: inventory: %w", s.path, err)
	}
	return out, nil
}
