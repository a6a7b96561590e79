package core

import (
	"encoding/json"
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEveryEngineOptionHasAConfigField(t *testing.T) {
	var c Config
	for _, opt := range Options() {
		if _, ok := configField(&c, opt.Name); !ok {
			t.Errorf("option %s has no Config field", opt.Name)
		}
	}
	if n := reflect.TypeFor[Config]().NumField(); len(Options()) != n || len(options) != n {
		t.Errorf("%d options, %d by name, for %d Config fields", len(Options()), len(options), n)
	}
}

// TestHostOptionsAreLeftOut checks that an entry of the table that names
// no Config field (a host package's option) is neither among the engine's
// options nor accepted in its JSON.
func TestHostOptionsAreLeftOut(t *testing.T) {
	var table optionTable
	if err := json.Unmarshal(optionsJSON, &table); err != nil {
		t.Fatal(err)
	}
	var c Config
	var hosts []string
	for _, opt := range table.Options {
		if _, ok := configField(&c, opt.Name); !ok {
			hosts = append(hosts, opt.Name)
		}
	}
	// A table with a host's option: the engine loads only its own.
	synthetic := `{"version": 1, "options": [
		{"name": "collection_max_count", "type": "int", "default": 500, "min": 1, "max": 500, "kpl": null, "doc": "d"},
		{"name": "on_metrics", "type": "callable", "default": null, "kpl": null, "doc": "a host's"}]}`
	if loaded := mustLoadOptions([]byte(synthetic)); len(loaded) != 1 || loaded["collection_max_count"] == nil {
		t.Errorf("loaded %v, want collection_max_count alone", slices.Collect(maps.Keys(loaded)))
	}
	for _, name := range hosts {
		if slices.ContainsFunc(Options(), func(o OptionSpec) bool { return o.Name == name }) {
			t.Errorf("%s is among the engine's options", name)
		}
		for _, value := range []string{"null", `"x"`, "1"} {
			_, err := ParseConfigJSON([]byte(`{"` + name + `": ` + value + `}`))
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != name {
				t.Errorf("%s=%s: err = %v, want a ConfigError naming it", name, value, err)
			}
		}
	}
}

func TestDefaultConfigIsValidAndMatchesTheKPL(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.CollectionMaxCount != 500 || c.AggregationMaxSize != 51200 || c.RecordMaxBufferedTime != 100*time.Millisecond ||
		c.RecordTTL != 30*time.Second || !c.AggregationEnabled || !c.VerifySSL || c.MaxConnections != 24 {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestRegionComesFromTheEnvironment(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-1")
	c, err := ParseConfigJSON([]byte(`{}`))
	if err != nil || c.Region != "eu-west-1" {
		t.Fatalf("region = %q, err = %v", c.Region, err)
	}
	t.Setenv("AWS_REGION", "ap-south-1")
	if c, _ := ParseConfigJSON([]byte(`{}`)); c.Region != "ap-south-1" {
		t.Fatalf("AWS_REGION should win, got %q", c.Region)
	}
}

func TestParseConfigAcceptsIntsForFloatsAndWholeFloatsForInts(t *testing.T) {
	c, err := ParseConfigJSON([]byte(`{"record_max_buffered_time_ms": 250, "collection_max_count": 100.0, "rate_limit_bytes_per_sec_per_shard": 524288.5}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.RecordMaxBufferedTime != 250*time.Millisecond || c.CollectionMaxCount != 100 || c.RateLimitBytesPerSecPerShard != 524288.5 {
		t.Fatalf("%+v", c)
	}
}

func TestParseConfigRejectsWithTheFieldAndItsRange(t *testing.T) {
	cases := map[string]string{
		`{"collection_max_count": 501}`:                  "collection_max_count",
		`{"collection_max_count": 1.5}`:                  "integer",
		`{"aggregation_max_size": 63}`:                   "[64, 1048576]",
		`{"record_ttl_ms": 99}`:                          "record_ttl_ms",
		`{"metrics_namespace": "AWS/Kinesis"}`:           "may not start with AWS/",
		`{"metrics_level": "all"}`:                       "none, summary, detailed",
		`{"region": "Mars"}`:                             "must match",
		`{"verify_ssl": "no"}`:                           "boolean",
		`{"no_such_option": 1}`:                          "not a known option",
		`{"max_connections": 0}`:                         "[1, 256]",
		`{"aggregation_max_count": 9223372036854775808}`: "aggregation_max_count",
		`[1, 2]`:                        "JSON object",
		`{"aws_access_key_id": "AKIA"}`: "aws_secret_access_key",
		`{"aws_session_token": "t"}`:    "aws_session_token",
	}
	for input, want := range cases {
		_, err := ParseConfigJSON([]byte(input))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want a ConfigError mentioning %q", input, err, want)
		}
	}
}

func TestHugeTimesSaturateInsteadOfOverflowing(t *testing.T) {
	c, err := ParseConfigJSON([]byte(`{"record_ttl_ms": 9223372036854775807, "record_max_buffered_time_ms": 9223372036854775807}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.RecordTTL != time.Duration(math.MaxInt64) {
		t.Fatalf("ttl = %v", c.RecordTTL)
	}
	now := time.Now()
	if exp := addTime(now, c.RecordTTL); !exp.After(now) {
		t.Fatalf("expiration %v is not after now: overflow", exp)
	}
}

func FuzzParseConfigJSON(f *testing.F) {
	f.Add([]byte(`{"region":"us-east-1","collection_max_count":500}`))
	f.Add([]byte(`{"record_ttl_ms":1e300}`))
	f.Add([]byte(`{"metrics_level":null}`))
	f.Add([]byte(`{"aggregation_max_count":-1}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfigJSON(raw)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v (from %q)", err, raw)
		}
	})
}
