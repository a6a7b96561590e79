package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// endpointURLCases are the endpoint values, valid or not, that the engine
// and the Python package (tests/python/test_config.py) must agree on.
func endpointURLCases(t *testing.T) map[string]bool {
	raw, err := os.ReadFile("testdata/endpoint_urls.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases struct{ Valid, Invalid []string }
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, v := range cases.Valid {
		out[v] = true
	}
	for _, v := range cases.Invalid {
		out[v] = false
	}
	return out
}

func TestEndpointOptionsTakeOnlyHTTPURLsWithAHost(t *testing.T) {
	for _, option := range []string{"endpoint_url", "cloudwatch_endpoint_url"} {
		for value, valid := range endpointURLCases(t) {
			raw := fmt.Sprintf(`{%q: %q}`, option, value)
			_, err := ParseConfigJSON([]byte(raw))
			var ce *ConfigError
			switch {
			case valid && err != nil:
				t.Errorf("%s: %v", raw, err)
			case !valid && (!errors.As(err, &ce) || ce.Field != option || !strings.Contains(err.Error(), "http or https URL")):
				t.Errorf("%s: err = %v, want a ConfigError naming %s", raw, err, option)
			}
		}
	}
}

func TestValidateChecksEndpointsOfAConfigBuiltInGo(t *testing.T) {
	c := DefaultConfig()
	c.Region = "us-east-1"
	c.EndpointURL = "not a url"
	var ce *ConfigError
	if err := c.Validate(); !errors.As(err, &ce) || ce.Field != "endpoint_url" {
		t.Fatalf("Validate() = %v, want a ConfigError naming endpoint_url", err)
	}
	c.EndpointURL = ""
	c.CloudWatchEndpointURL = "ftp://x"
	if err := c.Validate(); !errors.As(err, &ce) || ce.Field != "cloudwatch_endpoint_url" {
		t.Fatalf("Validate() = %v, want a ConfigError naming cloudwatch_endpoint_url", err)
	}
	c.CloudWatchEndpointURL = ""
	if err := c.Validate(); err != nil {
		t.Fatalf("unset endpoints: %v", err)
	}
}
