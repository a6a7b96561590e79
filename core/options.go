package core

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strings"
)

// optionsJSON is the single description of every producer option: name, type,
// default, range, KPL property name and a one-line doc. The Python package
// ships the same file and validates with it before the library is loaded, so
// the two sides cannot drift.
//
//go:embed options.json
var optionsJSON []byte

// OptionSpec describes one configuration field as data.
type OptionSpec struct {
	Name            string   `json:"name"`
	Type            string   `json:"type"` // bool, int, float, string or enum
	Default         any      `json:"default"`
	Min             *float64 `json:"min,omitempty"`
	Max             *float64 `json:"max,omitempty"`
	Choices         []string `json:"choices,omitempty"`
	Pattern         string   `json:"pattern,omitempty"`
	ForbiddenPrefix string   `json:"forbidden_prefix,omitempty"`
	Unit            string   `json:"unit,omitempty"`
	Secret          bool     `json:"secret,omitempty"`
	KPL             *string  `json:"kpl"`
	Doc             string   `json:"doc"`

	pattern *regexp.Regexp
}

type optionTable struct {
	Version int          `json:"version"`
	Options []OptionSpec `json:"options"`
}

// options holds the engine's options by name: the entries of the table
// that name a Config field. The table is shared with the host packages,
// and may hold options of theirs (a callable, say), which a host takes
// itself and never passes on; the engine leaves them out, without knowing
// whose they are.
var options = mustLoadOptions(optionsJSON)

func mustLoadOptions(raw []byte) map[string]*OptionSpec {
	var table optionTable
	if err := json.Unmarshal(raw, &table); err != nil {
		panic("core: options.json is malformed: " + err.Error())
	}
	var fields Config
	byName := make(map[string]*OptionSpec, len(table.Options))
	for i := range table.Options {
		opt := &table.Options[i]
		if _, ok := configField(&fields, opt.Name); !ok {
			continue
		}
		if opt.Pattern != "" {
			opt.pattern = regexp.MustCompile(opt.Pattern)
		}
		byName[opt.Name] = opt
	}
	return byName
}

// Options returns the engine's options, one for each Config field, in the
// table's order, for documentation and tools.
func Options() []OptionSpec {
	var table optionTable
	_ = json.Unmarshal(optionsJSON, &table)
	engine := table.Options[:0]
	for _, opt := range table.Options {
		if options[opt.Name] != nil {
			engine = append(engine, opt)
		}
	}
	return engine
}

// check validates one raw JSON value (decoded with UseNumber) against the
// option's type and range, returning the normalised Go value.
func (o *OptionSpec) check(raw any) (any, error) {
	if raw == nil {
		if o.Default == nil {
			return nil, nil
		}
		return nil, o.fail("may not be null")
	}
	switch o.Type {
	case "bool":
		b, ok := raw.(bool)
		if !ok {
			return nil, o.fail("must be a boolean")
		}
		return b, nil
	case "int":
		return o.checkInt(raw)
	case "float":
		return o.checkFloat(raw)
	case "string":
		return o.checkString(raw)
	case "enum":
		s, ok := raw.(string)
		if !ok || !contains(o.Choices, s) {
			return nil, o.fail("must be one of " + strings.Join(o.Choices, ", "))
		}
		return s, nil
	}
	return nil, o.fail("has unknown type " + o.Type)
}

func (o *OptionSpec) checkInt(raw any) (any, error) {
	n, ok := raw.(json.Number)
	if !ok {
		return nil, o.fail("must be an integer " + o.rangeText())
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok || !r.IsInt() {
		return nil, o.fail("must be an integer " + o.rangeText())
	}
	v := r.Num()
	if !v.IsInt64() || !o.inRange(float64(v.Int64())) || (o.Max != nil && *o.Max >= math.MaxInt64 && v.Sign() < 0) {
		return nil, o.fail("must be an integer " + o.rangeText())
	}
	return v.Int64(), nil
}

func (o *OptionSpec) checkFloat(raw any) (any, error) {
	n, ok := raw.(json.Number)
	if !ok {
		return nil, o.fail("must be a number " + o.rangeText())
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || !o.inRange(f) {
		return nil, o.fail("must be a number " + o.rangeText())
	}
	return f, nil
}

func (o *OptionSpec) checkString(raw any) (any, error) {
	s, ok := raw.(string)
	if !ok {
		return nil, o.fail("must be a string")
	}
	if o.pattern != nil && !o.pattern.MatchString(s) {
		return nil, o.fail("must match " + o.Pattern)
	}
	if o.ForbiddenPrefix != "" && strings.HasPrefix(s, o.ForbiddenPrefix) {
		return nil, o.fail("may not start with " + o.ForbiddenPrefix)
	}
	return s, nil
}

func (o *OptionSpec) inRange(f float64) bool {
	return (o.Min == nil || f >= *o.Min) && (o.Max == nil || f <= *o.Max)
}

func (o *OptionSpec) rangeText() string {
	return fmt.Sprintf("in [%s, %s]", formatBound(o.Min), formatBound(o.Max))
}

func formatBound(b *float64) string {
	if b == nil {
		return "unbounded"
	}
	if *b >= math.MaxInt64 {
		return "9223372036854775807"
	}
	return fmt.Sprintf("%.15g", *b)
}

func (o *OptionSpec) fail(reason string) error {
	return &ConfigError{Field: o.Name, Reason: reason}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
