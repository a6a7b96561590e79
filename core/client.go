package core

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// NewKinesisClient builds the aws-sdk-go-v2 Kinesis client a producer uses:
// the SDK's default credential chain (environment, shared config and profiles,
// SSO, web identity, IMDS, refreshed as they expire) unless cfg has static
// keys; cfg's endpoint, TLS verification, timeouts and connection limit; and
// no SDK retries, because the retrier decides per record.
func NewKinesisClient(ctx context.Context, cfg *Config) (*kinesis.Client, error) {
	loadOpts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithHTTPClient(newHTTPClient(cfg)),
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if cfg.Region != "" {
		loadOpts = append(loadOpts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.AWSAccessKeyID != "" {
		loadOpts = append(loadOpts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey, cfg.AWSSessionToken)))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, &ConfigError{Field: "(aws)", Reason: "could not load the AWS configuration: " + err.Error()}
	}
	if awsCfg.Region == "" {
		return nil, &ConfigError{Field: "region", Reason: "is not set: pass region= or set AWS_REGION"}
	}
	return kinesis.NewFromConfig(awsCfg, func(o *kinesis.Options) {
		if cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(cfg.EndpointURL)
		}
	}), nil
}

func newHTTPClient(cfg *Config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: cfg.ConnectTimeout,
		MaxIdleConns:        int(cfg.MaxConnections),
		MaxIdleConnsPerHost: int(cfg.MaxConnections),
		MaxConnsPerHost:     int(cfg.MaxConnections),
		ForceAttemptHTTP2:   true,
	}
	if !cfg.VerifySSL {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it (emulators)
	}
	return &http.Client{Transport: transport}
}
