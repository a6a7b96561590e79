package main

/*
#include "cgotypes.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/gokpl/gokpl/core"
)

// checkReport is what gokpl_check writes: what a producer made from the
// same configuration, now, would use.
type checkReport struct {
	Region         string            `json:"region"`
	RegionSource   string            `json:"region_source"`
	EndpointURL    string            `json:"endpoint_url"`
	EndpointSource string            `json:"endpoint_source"`
	Credentials    credentialsReport `json:"credentials"`
	Stream         *streamReport     `json:"stream,omitempty"`
}

// credentialsReport says where the credentials come from, never what they
// are: the access key id is masked and the secret never read out.
type credentialsReport struct {
	Source      string `json:"source,omitempty"`        // the SDK's name of the provider that gave them
	AccessKeyID string `json:"access_key_id,omitempty"` // masked: first and last 4 characters
	Expires     string `json:"expires,omitempty"`       // RFC 3339, for credentials that expire
	Error       string `json:"error,omitempty"`         // why none could be had
}

// streamReport is the stream's open shards, or why they could not be listed.
type streamReport struct {
	Name   string        `json:"name"`
	Shards []shardReport `json:"shards"`
	Error  string        `json:"error,omitempty"`
}

type shardReport struct {
	ShardID         string `json:"shard_id"`
	StartingHashKey string `json:"starting_hash_key"`
	EndingHashKey   string `json:"ending_hash_key"`
}

//export gokpl_check
func gokpl_check(configJSON *C.gokpl_cchar, configLen C.size_t, stream *C.gokpl_cchar, streamLen C.size_t,
	timeoutMS C.int64_t, buf *C.char, capacity C.size_t, length *C.size_t,
	errBuf *C.char, errCap C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, errBuf, errCap)
	switch {
	case length == nil:
		return invalidArgument("len is NULL", errBuf, errCap)
	case buf == nil && capacity > 0:
		return invalidArgument("buf is NULL with a capacity", errBuf, errCap)
	case configJSON == nil && configLen > 0:
		return invalidArgument("config_json is NULL with a length", errBuf, errCap)
	case stream == nil && streamLen > 0:
		return invalidArgument("stream is NULL with a length", errBuf, errCap)
	case timeoutMS < 0:
		return invalidArgument("timeout_ms is negative", errBuf, errCap)
	}
	*length = 0
	ctx, cancel := contextFor(timeoutMS)
	defer cancel()
	report, err := check(ctx, goString(configJSON, configLen), goString(stream, streamLen))
	if err != nil {
		return fail(err, errBuf, errCap)
	}
	raw, err := json.Marshal(report)
	if err != nil {
		return fail(err, errBuf, errCap)
	}
	*length = C.size_t(len(raw))
	if uint64(len(raw)) > uint64(capacity) {
		writeMessage(fmt.Sprintf("gokpl: buf is too small: the report takes %d bytes", len(raw)), errBuf, errCap)
		return C.GOKPL_ERR_BUFFER_TOO_SMALL
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(buf)), len(raw)), raw)
	return C.GOKPL_OK
}

// check builds the Kinesis client a producer would build from configJSON,
// with the environment as it is now, and reports what it resolved; with a
// stream, it also lists the stream's open shards as the engine does. An
// invalid configuration is an error; no region (nothing else is resolved
// then), credentials or a listing that fail are reported.
func check(ctx context.Context, configJSON, stream string) (*checkReport, error) {
	cfg, client, err := checkClient(ctx, configJSON)
	var configErr *core.ConfigError
	if errors.As(err, &configErr) && configErr.Field == "region" {
		return &checkReport{RegionSource: "not set"}, nil
	}
	if err != nil {
		return nil, err
	}
	defer client.CloseIdleConnections()
	options := client.Options()
	report := &checkReport{Region: options.Region, RegionSource: regionSource(configJSON, options.Region)}
	report.EndpointURL, report.EndpointSource, err = endpointOf(ctx, &cfg, &options)
	if err != nil {
		return nil, err
	}
	report.Credentials = credentialsOf(ctx, options.Credentials)
	switch {
	case stream == "":
	case report.Credentials.Error != "":
		report.Stream = &streamReport{Name: stream, Shards: []shardReport{}, Error: "not listed: no credentials"}
	default:
		report.Stream = listShards(ctx, client, stream)
	}
	return report, nil
}

// checkClient parses the configuration and builds its client while the
// environment is held as it is (syncEnvironment), as gokpl_producer_new does.
func checkClient(ctx context.Context, configJSON string) (core.Config, *core.KinesisClient, error) {
	environMu.Lock()
	defer environMu.Unlock()
	syncEnvironment()
	cfg, err := core.ParseConfigJSON([]byte(configJSON))
	if err != nil {
		return cfg, nil, err
	}
	client, err := core.NewKinesisClient(ctx, &cfg, engineLogger)
	return cfg, client, err
}

// regionSource says where the region came from, in the SDK's order: the
// configuration's region, AWS_REGION, AWS_DEFAULT_REGION (which the
// engine's Config also reads), then the shared config file's profile.
func regionSource(configJSON, region string) string {
	var given struct {
		Region string `json:"region"`
	}
	if json.Unmarshal([]byte(configJSON), &given) == nil && given.Region != "" {
		return "config"
	}
	for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if value := os.Getenv(name); value != "" && value == region {
			return "environment " + name
		}
	}
	return "shared config file, profile " + profileName()
}

// profileName is the shared config profile the SDK reads.
func profileName() string {
	for _, name := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
		if p := os.Getenv(name); p != "" {
			return p
		}
	}
	return "default"
}

// endpointOf is the Kinesis endpoint the client sends to, and where it
// comes from: the configuration, the SDK's own settings
// (AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL, or the shared config's
// services section), or the service's default for the region.
func endpointOf(ctx context.Context, cfg *core.Config, options *kinesis.Options) (string, string, error) {
	switch {
	case cfg.EndpointURL != "":
		return cfg.EndpointURL, "config", nil
	case options.BaseEndpoint != nil:
		return *options.BaseEndpoint, "the AWS SDK's endpoint settings (AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL or the shared config)", nil
	}
	endpoint, err := options.EndpointResolverV2.ResolveEndpoint(ctx, kinesis.EndpointParameters{
		Region:       aws.String(options.Region),
		UseDualStack: aws.Bool(options.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
		UseFIPS:      aws.Bool(options.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
	})
	if err != nil {
		return "", "", &core.ConfigError{Field: core.ConfigFieldAWS, Reason: "no Kinesis endpoint for region " + options.Region + ": " + err.Error()}
	}
	return endpoint.URI.String(), "the service's default for the region", nil
}

// credentialsOf retrieves credentials from the client's provider (the SDK's
// default chain, or the configuration's keys) as the first request would.
func credentialsOf(ctx context.Context, provider aws.CredentialsProvider) credentialsReport {
	if provider == nil {
		return credentialsReport{Error: "no credentials provider"}
	}
	creds, err := provider.Retrieve(ctx)
	if err != nil {
		return credentialsReport{Error: err.Error()}
	}
	report := credentialsReport{Source: creds.Source, AccessKeyID: maskKey(creds.AccessKeyID)}
	if creds.CanExpire {
		report.Expires = creds.Expires.UTC().Format(time.RFC3339)
	}
	return report
}

// maskKey is an access key id with only its first and last 4 characters;
// all masked when it is too short for that to hide anything.
func maskKey(key string) string {
	if len(key) < 16 {
		return "…"
	}
	return key[:4] + "…" + key[len(key)-4:]
}

// listShards reports the stream's open shards as the engine lists them.
func listShards(ctx context.Context, client *core.KinesisClient, stream string) *streamReport {
	report := &streamReport{Name: stream, Shards: []shardReport{}}
	shards, err := core.ListOpenShards(ctx, client, stream)
	if err != nil {
		report.Error = err.Error()
		return report
	}
	for _, s := range shards {
		report.Shards = append(report.Shards, shardReport{
			ShardID:         s.ID,
			StartingHashKey: s.StartingHashKey.String(),
			EndingHashKey:   s.EndingHashKey.String(),
		})
	}
	return report
}
