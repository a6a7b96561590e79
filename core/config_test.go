package core

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEveryOptionHasAConfigField(t *testing.T) {
	var c Config
	for _, opt := range Options() {
		_, ok := configField(&c, opt.Name)
		switch {
		case opt.PythonOnly && ok:
			t.Errorf("option %s is python_only but has a Config field", opt.Name)
		case !opt.PythonOnly && !ok:
			t.Errorf("option %s has no Config field", opt.Name)
		}
	}
}

func TestPythonOnlyOptionsAreKnownButNeverAcceptedInJSON(t *testing.T) {
	var hostOnly []string
	for _, opt := range Options() {
		if opt.PythonOnly {
			hostOnly = append(hostOnly, opt.Name)
		}
	}
	if !slices.Contains(hostOnly, "metrics_sink") {
		t.Fatalf("python_only options %v, want metrics_sink among them", hostOnly)
	}
	for _, name := range hostOnly {
		if _, ok := options[name]; ok {
			t.Errorf("%s is in the engine's option table", name)
		}
		for _, value := range []string{"null", `"x"`, "1"} {
			_, err := ParseConfigJSON([]byte(`{"` + name + `": ` + value + `}`))
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != name || !strings.Contains(err.Error(), "Python package") {
				t.Errorf("%s=%s: err = %v, want a ConfigError saying it belongs to the Python package", name, value, err)
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
