package demo

import (
	"crypto/rand"
	"encoding/hex"
)

// randomPassword is the simulated BMCs' password for one run: written to a
// file the config references (redfish.password: file:…), never printed.
func randomPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
