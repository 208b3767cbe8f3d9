package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// redacted replaces a secret wherever it is printed or marshalled.
const redacted = "<redacted>"

// Secret is a credential given in the file as a reference, env:NAME or
// file:/path, and read only when Resolve is called. A literal value is kept
// as well, but validation rejects it unless allow_inline_secrets is set.
//
// A Secret never prints or marshals its value or its reference: every fmt
// verb, YAML, JSON and text marshalling give "<redacted>".
type Secret struct {
	kind  secretKind
	value string // variable name, file path or literal
}

type secretKind int

const (
	secretUnset secretKind = iota
	secretEnv
	secretFile
	secretInline
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseSecret parses a secret reference. Anything other than env:NAME or
// file:/path is taken as a literal secret.
func ParseSecret(text string) (Secret, error) {
	switch {
	case strings.HasPrefix(text, "env:"):
		name := strings.TrimPrefix(text, "env:")
		if !envName.MatchString(name) {
			return Secret{}, fmt.Errorf("invalid secret reference %q: %q is not an environment variable name", text, name)
		}
		return Secret{kind: secretEnv, value: name}, nil
	case strings.HasPrefix(text, "file:"):
		path := strings.TrimPrefix(text, "file:")
		if strings.TrimSpace(path) == "" {
			return Secret{}, fmt.Errorf("invalid secret reference %q: missing file path", text)
		}
		return Secret{kind: secretFile, value: path}, nil
	case text == "":
		return Secret{}, nil
	}
	return Secret{kind: secretInline, value: text}, nil
}

func (s *Secret) decodeScalar(text string) error {
	v, err := ParseSecret(text)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Resolve reads the secret's value. Errors name the reference, never the
// value.
func (s Secret) Resolve() (string, error) {
	switch s.kind {
	case secretEnv:
		v, ok := os.LookupEnv(s.value)
		if !ok {
			return "", fmt.Errorf("secret env:%s: environment variable %s is not set", s.value, s.value)
		}
		if v == "" {
			return "", fmt.Errorf("secret env:%s: environment variable %s is empty", s.value, s.value)
		}
		return v, nil
	case secretFile:
		b, err := os.ReadFile(s.value)
		if err != nil {
			return "", fmt.Errorf("secret file:%s: %w", s.value, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case secretInline:
		return s.value, nil
	}
	return "", errors.New("secret is not set")
}

// IsZero reports whether no secret was given.
func (s Secret) IsZero() bool { return s.kind == secretUnset }

func (s Secret) isInline() bool { return s.kind == secretInline }

// String returns "<redacted>".
func (s Secret) String() string { return redacted }

// GoString returns "<redacted>", for %#v.
func (s Secret) GoString() string { return redacted }

// Format prints "<redacted>" for every verb, so that no fmt verb can reach
// the fields.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalYAML returns "<redacted>".
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// MarshalText returns "<redacted>"; encoding/json uses it too.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
