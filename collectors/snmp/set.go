package snmp

import (
	"context"
	"fmt"

	"github.com/gosnmp/gosnmp"
)

// Setter is a Transport that can also write: the power controller switches
// outlets and PoE ports with SNMP SET. Collectors never write, so Set is
// not part of Transport; the transport from Dial implements it.
type Setter interface {
	Transport
	// Set writes the varbinds in one SetRequest-PDU, all or nothing (RFC
	// 3416 section 4.2.5). An agent error (notWritable, wrongValue…) is an
	// error naming it.
	Set(ctx context.Context, pdus []gosnmp.SnmpPDU) error
}

var _ Setter = (*gosnmpTransport)(nil)

func (t *gosnmpTransport) Set(ctx context.Context, pdus []gosnmp.SnmpPDU) error {
	if len(pdus) == 0 {
		return nil
	}
	t.bind(ctx)
	res, err := t.g.Set(pdus)
	if err != nil {
		return fmt.Errorf("snmp %s: set %s: %w", t.host, pdus[0].Name, classify(err))
	}
	if res.Error != gosnmp.NoError {
		name := pdus[0].Name
		if i := int(res.ErrorIndex); i >= 1 && i <= len(pdus) {
			name = pdus[i-1].Name
		}
		return fmt.Errorf("snmp %s: set %s: agent error %v", t.host, name, res.Error)
	}
	return nil
}
