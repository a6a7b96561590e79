package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/core/kinesistest"
)

// checkOn runs check with options (JSON) and an optional stream, within 10 s.
func checkOn(t *testing.T, options map[string]any, stream string) (*checkReport, error) {
	t.Helper()
	raw, err := json.Marshal(options)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return check(ctx, string(raw), stream)
}

// isolateAWSFiles points the SDK at shared files that do not exist, so that
// nothing of the machine's own AWS setup reaches a test.
func isolateAWSFiles(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_KINESIS", "")
}

func TestCheckReportsWhatTheConfigurationGivesAndListsTheShards(t *testing.T) {
	isolateAWSFiles(t)
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 2}})
	defer srv.Close()
	report, err := checkOn(t, map[string]any{
		"region": "eu-west-1", "endpoint_url": srv.URL,
		"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "secret-never-shown",
	}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if report.Region != "eu-west-1" || report.RegionSource != "config" {
		t.Errorf("region %q from %q, want eu-west-1 from config", report.Region, report.RegionSource)
	}
	if report.EndpointURL != srv.URL || report.EndpointSource != "config" {
		t.Errorf("endpoint %q from %q, want %q from config", report.EndpointURL, report.EndpointSource, srv.URL)
	}
	want := credentialsReport{Source: "StaticCredentials", AccessKeyID: "AKIA…MPLE"}
	if report.Credentials != want {
		t.Errorf("credentials %+v, want %+v", report.Credentials, want)
	}
	shards := report.Stream.Shards
	if report.Stream.Error != "" || len(shards) != 2 {
		t.Fatalf("stream %+v, want 2 shards", report.Stream)
	}
	if shards[0].StartingHashKey != "0" || shards[1].EndingHashKey != "340282366920938463463374607431768211455" {
		t.Errorf("shards %+v do not cover the hash key space", shards)
	}
	raw, _ := json.Marshal(report)
	if strings.Contains(string(raw), "secret-never-shown") || strings.Contains(string(raw), "AKIAIOSFODNN7EXAMPLE") {
		t.Errorf("the report shows a secret or the whole key id: %s", raw)
	}
}

func TestCheckFindsRegionAndCredentialsInTheEnvironmentAsTheSDKDoes(t *testing.T) {
	isolateAWSFiles(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "ap-south-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00042")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	report, err := checkOn(t, map[string]any{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if report.Region != "ap-south-1" || report.RegionSource != "environment AWS_DEFAULT_REGION" {
		t.Errorf("region %q from %q", report.Region, report.RegionSource)
	}
	if report.EndpointURL != "https://kinesis.ap-south-1.amazonaws.com" || report.EndpointSource != "the service's default for the region" {
		t.Errorf("endpoint %q from %q", report.EndpointURL, report.EndpointSource)
	}
	if report.Credentials.Source != "EnvConfigCredentials" || report.Credentials.AccessKeyID != "AKIA…0042" {
		t.Errorf("credentials %+v", report.Credentials)
	}
	if report.Stream != nil {
		t.Errorf("stream %+v without a stream asked for", report.Stream)
	}
}

func TestCheckTakesTheEndpointFromTheSDKsOwnSettings(t *testing.T) {
	isolateAWSFiles(t)
	t.Setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:4567")
	report, err := checkOn(t, map[string]any{"region": "us-east-1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if report.EndpointURL != "http://127.0.0.1:4567" || !strings.Contains(report.EndpointSource, "AWS_ENDPOINT_URL_KINESIS") {
		t.Errorf("endpoint %q from %q", report.EndpointURL, report.EndpointSource)
	}
}

func TestCheckReportsMissingCredentialsAndAStreamThatCannotBeListed(t *testing.T) {
	isolateAWSFiles(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	srv := kinesistest.NewServer(kinesistest.Options{})
	defer srv.Close()
	report, err := checkOn(t, map[string]any{"region": "us-east-1", "endpoint_url": srv.URL}, "missing")
	if err != nil {
		t.Fatal(err)
	}
	if report.Credentials.Error == "" || report.Credentials.Source != "" {
		t.Errorf("credentials %+v, want an error", report.Credentials)
	}
	if report.Stream == nil || report.Stream.Error == "" || len(report.Stream.Shards) != 0 {
		t.Errorf("stream %+v, want it not listed", report.Stream)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	report, err = checkOn(t, map[string]any{"region": "us-east-1", "endpoint_url": srv.URL}, "missing")
	if err != nil {
		t.Fatal(err)
	}
	if report.Stream == nil || !strings.Contains(report.Stream.Error, "ResourceNotFoundException") {
		t.Errorf("stream %+v, want ResourceNotFoundException", report.Stream)
	}
}

func TestCheckListsAStreamGivenByARN(t *testing.T) {
	isolateAWSFiles(t)
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 3}})
	defer srv.Close()
	arn := "arn:aws:kinesis:us-east-1:123456789012:stream/s"
	report, err := checkOn(t, map[string]any{"region": "us-east-1", "endpoint_url": srv.URL}, arn)
	if err != nil {
		t.Fatal(err)
	}
	if report.Stream.Error != "" || len(report.Stream.Shards) != 3 || report.Stream.Name != arn {
		t.Errorf("stream %+v, want 3 shards", report.Stream)
	}
}

func TestCheckRefusesAnInvalidConfigurationAndReportsNoRegion(t *testing.T) {
	isolateAWSFiles(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	var configErr *core.ConfigError
	if _, err := checkOn(t, map[string]any{"collection_max_count": 501}, ""); !errors.As(err, &configErr) {
		t.Errorf("an out-of-range option: %v, want a ConfigError", err)
	}
	report, err := checkOn(t, map[string]any{}, "s")
	if err != nil || report.Region != "" || report.RegionSource != "not set" || report.Stream != nil {
		t.Errorf("no region: %+v, %v; want the region reported not set, and nothing else", report, err)
	}
}

func TestMaskKeyKeepsFourCharactersAtEachEnd(t *testing.T) {
	for key, want := range map[string]string{"AKIAIOSFODNN7EXAMPLE": "AKIA…MPLE", "short": "…", "": "…"} {
		if got := maskKey(key); got != want {
			t.Errorf("maskKey(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestCheckFindsTheRegionOfTheProfile(t *testing.T) {
	isolateAWSFiles(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "work")
	config := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(config, []byte("[profile work]\nregion = eu-north-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", config)
	report, err := checkOn(t, map[string]any{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if report.Region != "eu-north-1" || report.RegionSource != "shared config file, profile work" {
		t.Errorf("region %q from %q", report.Region, report.RegionSource)
	}
}
