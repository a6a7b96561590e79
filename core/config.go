package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Config holds every producer option. The zero value is not useful; start from
// DefaultConfig or ParseConfigJSON, change fields, and New validates the
// result (Validate reports the first field out of range). Each field's tag
// names its option in options.json, the one table of defaults, ranges and
// docs that the comments below repeat (a test keeps them in step). Options
// in milliseconds (_ms) are time.Durations here; sizes are bytes. A Config
// is copied by New and read-only for the producer.
type Config struct {
	// Region (region): AWS region used for signing and the default endpoint;
	// when unset, AWS_REGION or AWS_DEFAULT_REGION from the environment, as
	// boto3 does. Unset by default.
	Region string `opt:"region"`

	// EndpointURL (endpoint_url): Full Kinesis endpoint URL (scheme, host,
	// port), for emulators and private endpoints; http is allowed. Unset by
	// default.
	EndpointURL string `opt:"endpoint_url"`

	// VerifySSL (verify_ssl): Verify the endpoint's TLS certificate; false
	// accepts self-signed certificates (emulators only). Default: true.
	VerifySSL bool `opt:"verify_ssl"`

	// AWSAccessKeyID (aws_access_key_id): Static access key; when unset the
	// SDK's default credential chain is used (environment, profiles, SSO, web
	// identity, IMDS). Unset by default.
	AWSAccessKeyID string `opt:"aws_access_key_id"`

	// AWSSecretAccessKey (aws_secret_access_key): Static secret key, given
	// together with aws_access_key_id. Unset by default.
	AWSSecretAccessKey string `opt:"aws_secret_access_key"`

	// AWSSessionToken (aws_session_token): Session token for temporary static
	// credentials, given with aws_access_key_id and aws_secret_access_key.
	// Unset by default.
	AWSSessionToken string `opt:"aws_session_token"`

	// AggregationEnabled (aggregation_enabled): Pack many user records into one
	// Kinesis record per predicted shard (the KPL aggregated format). Default:
	// true.
	AggregationEnabled bool `opt:"aggregation_enabled"`

	// AggregationMaxCount (aggregation_max_count): Most user records in one
	// aggregated Kinesis record. Default: 4294967295. Range: at least 1.
	AggregationMaxCount int64 `opt:"aggregation_max_count"`

	// AggregationMaxSize (aggregation_max_size): Largest aggregated Kinesis
	// record, its data and its partition key together as the service counts
	// them; a single user record larger than this is sent alone. Default: 51200
	// bytes. Range: 64 to 1048576 bytes.
	AggregationMaxSize int64 `opt:"aggregation_max_size"`

	// RecordMaxBufferedTime (record_max_buffered_time_ms): Longest a record
	// waits in the producer's buffers before it is sent. Default: 100 ms. Range:
	// at least 0 ms.
	RecordMaxBufferedTime time.Duration `opt:"record_max_buffered_time_ms"`

	// RecordTTL (record_ttl_ms): Time after which a record not yet delivered
	// fails with error code Expired; huge values mean no expiry. Default: 30000
	// ms. Range: at least 100 ms.
	RecordTTL time.Duration `opt:"record_ttl_ms"`

	// CollectionMaxCount (collection_max_count): Most Kinesis records in one
	// PutRecords request. Default: 500. Range: 1 to 500.
	CollectionMaxCount int64 `opt:"collection_max_count"`

	// CollectionMaxSize (collection_max_size): Largest PutRecords request,
	// counted as the sum of partition key and data lengths, as the service
	// counts it. Default: 5242880 bytes. Range: 52224 to 5242880 bytes.
	CollectionMaxSize int64 `opt:"collection_max_size"`

	// RateLimitRecordsPerSecPerShard (rate_limit_records_per_sec_per_shard):
	// Refill rate of each shard's record token bucket (the service allows 1,000
	// records/s per shard). Default: 1000 records/s. Range: 1 to 1000000000000
	// records/s.
	RateLimitRecordsPerSecPerShard float64 `opt:"rate_limit_records_per_sec_per_shard"`

	// RateLimitBytesPerSecPerShard (rate_limit_bytes_per_sec_per_shard): Refill
	// rate of each shard's byte token bucket (the service allows 1 MiB/s per
	// shard). Default: 1048576 bytes/s. Range: 1 to 1000000000000000 bytes/s.
	RateLimitBytesPerSecPerShard float64 `opt:"rate_limit_bytes_per_sec_per_shard"`

	// DrainInterval (drain_interval_ms): How often records held back by the rate
	// limiter are reconsidered. Default: 25 ms. Range: 1 to 60000 ms.
	DrainInterval time.Duration `opt:"drain_interval_ms"`

	// RetryDeadline (retry_deadline_ms): Buffering deadline given to a record
	// that goes back for another attempt (the KPL uses half of
	// record_max_buffered_time_ms). Default: 50 ms. Range: at least 0 ms.
	RetryDeadline time.Duration `opt:"retry_deadline_ms"`

	// FailIfThrottled (fail_if_throttled): Fail a record at once when it is
	// throttled (ProvisionedThroughputExceededException, ThrottlingException,
	// LimitExceededException, RequestLimitExceeded, KMSThrottlingException)
	// instead of retrying it with backoff. Default: false.
	FailIfThrottled bool `opt:"fail_if_throttled"`

	// MaxOutstandingRecords (max_outstanding_records): Most records put but not
	// yet resolved; a put past it blocks until room frees or its timeout passes.
	// Default: 100000. Range: 1 to 100000000.
	MaxOutstandingRecords int64 `opt:"max_outstanding_records"`

	// MaxOutstandingBytes (max_outstanding_bytes): Most memory the records put
	// but not yet resolved may hold: their data and partition keys, 512 bytes of
	// bookkeeping each, their retry histories and the bodies of requests in
	// flight; a put past it blocks like max_outstanding_records. Default:
	// 268435456 bytes. Range: 1048576 to 1099511627776 bytes.
	MaxOutstandingBytes int64 `opt:"max_outstanding_bytes"`

	// ConnectTimeout (connect_timeout_ms): Timeout for establishing a connection
	// to the endpoint. Default: 6000 ms. Range: 100 to 300000 ms.
	ConnectTimeout time.Duration `opt:"connect_timeout_ms"`

	// RequestTimeout (request_timeout_ms): Timeout of one PutRecords request; a
	// timed-out request may still have been written, so a retry can duplicate
	// records. Default: 6000 ms. Range: 100 to 600000 ms.
	RequestTimeout time.Duration `opt:"request_timeout_ms"`

	// MaxConnections (max_connections): Most PutRecords requests in flight at
	// once (and HTTP connections kept open). Default: 24. Range: 1 to 256.
	MaxConnections int64 `opt:"max_connections"`

	// MetricsLevel (metrics_level): Which metrics are uploaded to CloudWatch;
	// none uploads nothing (metrics are still kept locally). One of "none",
	// "summary", "detailed". Default: "none".
	MetricsLevel string `opt:"metrics_level"`

	// MetricsGranularity (metrics_granularity): Deepest dimension uploaded:
	// global, per stream, or per shard. One of "global", "stream", "shard".
	// Default: "stream".
	MetricsGranularity string `opt:"metrics_granularity"`

	// MetricsNamespace (metrics_namespace): CloudWatch namespace for uploaded
	// metrics; may not start with AWS/. Default: "KinesisProducerLibrary".
	MetricsNamespace string `opt:"metrics_namespace"`

	// MetricsUploadInterval (metrics_upload_interval_ms): How often metrics are
	// uploaded. Default: 60000 ms. Range: 1 to 60000 ms.
	MetricsUploadInterval time.Duration `opt:"metrics_upload_interval_ms"`

	// CloudWatchEndpointURL (cloudwatch_endpoint_url): Full CloudWatch endpoint
	// URL for metrics upload, for emulators and private endpoints. Unset by
	// default.
	CloudWatchEndpointURL string `opt:"cloudwatch_endpoint_url"`
}

// DefaultConfig returns the defaults from options.json, with Region taken from
// AWS_REGION or AWS_DEFAULT_REGION when set.
func DefaultConfig() Config {
	var c Config
	for _, opt := range options {
		if opt.Default == nil {
			continue
		}
		value := opt.Default
		if n, ok := value.(float64); ok && opt.Type == "int" {
			value = int64(n)
		}
		if err := c.set(opt.Name, value); err != nil {
			panic(err)
		}
	}
	c.Region = regionFromEnvironment()
	return c
}

// ParseConfigJSON builds a Config from a JSON object of option names to values,
// on top of DefaultConfig. Unknown names, wrong types and out-of-range values
// are rejected with a *ConfigError naming the field and what it allows.
func ParseConfigJSON(raw []byte) (Config, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return Config{}, &ConfigError{Field: "(config)", Reason: "is not a JSON object: " + err.Error()}
	}
	c := DefaultConfig()
	for _, name := range sortedKeys(fields) {
		opt, ok := options[name]
		if !ok {
			return Config{}, &ConfigError{Field: name, Reason: "is not a known option"}
		}
		value, err := opt.check(fields[name])
		if err != nil {
			return Config{}, err
		}
		if value == nil {
			value = opt.zero()
		}
		if err := c.set(name, value); err != nil {
			return Config{}, err
		}
	}
	if c.Region == "" {
		c.Region = regionFromEnvironment()
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks a Config built in Go against the option table.
func (c *Config) Validate() error {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Tag.Get("opt")
		opt := options[name]
		raw := toJSONValue(v.Field(i))
		if _, isString := raw.(string); isString && raw == "" && opt.Default == nil {
			continue // an unset optional string
		}
		if _, err := opt.check(raw); err != nil {
			return err
		}
		if s, _ := raw.(string); urlOptions[name] && s != "" {
			if err := checkEndpointURL(name, s); err != nil {
				return err
			}
		}
	}
	if (c.AWSAccessKeyID == "") != (c.AWSSecretAccessKey == "") {
		return &ConfigError{Field: "aws_secret_access_key", Reason: "must be given together with aws_access_key_id"}
	}
	if c.AWSSessionToken != "" && c.AWSAccessKeyID == "" {
		return &ConfigError{Field: "aws_session_token", Reason: "is used only with aws_access_key_id and aws_secret_access_key"}
	}
	return nil
}

// urlOptions names the options whose options.json entry says "format":
// "url": endpoints, checked by checkEndpointURL (the Python package reads
// the same entries and applies the same rule).
var urlOptions = optionsOfFormat(optionsJSON, "url")

func optionsOfFormat(raw []byte, format string) map[string]bool {
	var table struct {
		Options []struct {
			Name   string `json:"name"`
			Format string `json:"format"`
		} `json:"options"`
	}
	if err := json.Unmarshal(raw, &table); err != nil {
		panic("core: options.json is malformed: " + err.Error())
	}
	names := map[string]bool{}
	for _, opt := range table.Options {
		if opt.Format == format {
			names[opt.Name] = true
		}
	}
	return names
}

// endpointURL is what an endpoint option takes: http or https, a host name
// or an IPv6 address in brackets, optionally a port and a path; no user, no
// query, no fragment, no space or control character.
var endpointURL = regexp.MustCompile(`(?i)^https?://(?:\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::([0-9]{1,5}))?(?:/[^?#\x00-\x20\x7f]*)?$`)

// checkEndpointURL rejects an endpoint no request could reach (a bare host,
// another scheme, a port outside 1-65535), naming the option, so that the
// mistake shows when the producer is made instead of as every record
// expiring.
func checkEndpointURL(name, s string) error {
	m := endpointURL.FindStringSubmatch(s)
	if m != nil && m[1] != "" {
		if port, _ := strconv.Atoi(m[1]); port < 1 || port > 65535 {
			m = nil
		}
	}
	if m == nil {
		return &ConfigError{Field: name, Reason: fmt.Sprintf("must be an http or https URL with a host, such as https://kinesis.us-east-1.amazonaws.com or http://localhost:4567, got %q", s)}
	}
	return nil
}

func (o *OptionSpec) zero() any {
	if o.Type == "string" {
		return ""
	}
	return o.Default
}

// set assigns one option's checked value to its field, converting
// milliseconds to a saturating time.Duration.
func (c *Config) set(name string, value any) error {
	field, ok := configField(c, name)
	if !ok {
		return &ConfigError{Field: name, Reason: "has no field in core.Config"}
	}
	switch field.Interface().(type) {
	case time.Duration:
		field.SetInt(int64(millisToDuration(toFloat(value))))
	case float64:
		field.SetFloat(toFloat(value))
	case int64:
		field.SetInt(int64(toFloat(value)))
	default:
		field.Set(reflect.ValueOf(value))
	}
	return nil
}

func configField(c *Config, name string) (reflect.Value, bool) {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("opt") == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func toJSONValue(field reflect.Value) any {
	switch x := field.Interface().(type) {
	case time.Duration:
		return json.Number(fmt.Sprint(float64(x) / float64(time.Millisecond)))
	case int64:
		return json.Number(fmt.Sprint(x))
	case float64:
		return json.Number(fmt.Sprint(x))
	default:
		return x
	}
}

func toFloat(value any) float64 {
	switch x := value.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return 0
}

// millisToDuration converts milliseconds to a Duration, saturating at the
// largest Duration instead of overflowing (a TTL of 2^63-1 ms means "never").
func millisToDuration(ms float64) time.Duration {
	ns := ms * float64(time.Millisecond)
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	if ns <= 0 {
		return 0
	}
	return time.Duration(ns)
}

func regionFromEnvironment() string {
	if r := os.Getenv("AWS_REGION"); r != "" {
		return r
	}
	return os.Getenv("AWS_DEFAULT_REGION")
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
