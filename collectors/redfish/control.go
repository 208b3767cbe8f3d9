package redfish

import (
	"context"
	"encoding/json"
	"net/http"
)

// Get, Post and Patch send one request through the collector's session,
// with its per-BMC limits, spacing and timeout: the power controller reads
// and commands a BMC the same way the collector polls it.

// Get fetches one resource.
func (c *Collector) Get(ctx context.Context, path string) ([]byte, error) {
	return c.conn.get(ctx, path)
}

// Post sends an action (e.g. ComputerSystem.Reset) with a JSON body.
func (c *Collector) Post(ctx context.Context, path string, body any) error {
	return c.send(ctx, http.MethodPost, path, body)
}

// Patch changes properties of a resource (e.g. a power limit).
func (c *Collector) Patch(ctx context.Context, path string, body any) error {
	return c.send(ctx, http.MethodPatch, path, body)
}

func (c *Collector) send(ctx context.Context, method, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	_, err = c.conn.do(ctx, method, path, b)
	return err
}
