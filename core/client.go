package core

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go/logging"
)

// NewKinesisClient builds the aws-sdk-go-v2 Kinesis client a producer uses:
// the SDK's default credential chain (environment, shared config and profiles,
// SSO, web identity, IMDS, refreshed as they expire) unless cfg has static
// keys; cfg's endpoint, TLS verification, timeouts and connection limit; and
// no SDK retries, because the retrier decides per record.
//
// CloseIdleConnections on the result releases its pooled connections; Close
// calls it for the client the producer built.
func NewKinesisClient(ctx context.Context, cfg *Config) (*KinesisClient, error) {
	return newKinesisClient(ctx, cfg, slog.Default())
}

// newKinesisClient is NewKinesisClient with the SDK's own messages going to log.
func newKinesisClient(ctx context.Context, cfg *Config, log *slog.Logger) (*KinesisClient, error) {
	awsCfg, transport, err := loadAWSConfig(ctx, cfg, aws.NopRetryer{}, log)
	if err != nil {
		return nil, err
	}
	client := kinesis.NewFromConfig(awsCfg, func(o *kinesis.Options) {
		if cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(cfg.EndpointURL)
		}
		o.Protocol = putRecordsProtocol{o.Protocol}
	})
	return &KinesisClient{Client: client, transport: transport}, nil
}

// newCloudWatchClient builds the client that uploads metrics: the same
// region, credentials and TLS settings as Kinesis, cfg's CloudWatch
// endpoint, and the SDK's standard retries with two retries, as the KPL has.
func newCloudWatchClient(ctx context.Context, cfg *Config, log *slog.Logger) (*cloudwatch.Client, *http.Transport, error) {
	awsCfg, transport, err := loadAWSConfig(ctx, cfg, retry.AddWithMaxAttempts(retry.NewStandard(), 3), log)
	if err != nil {
		return nil, nil, err
	}
	client := cloudwatch.NewFromConfig(awsCfg, func(o *cloudwatch.Options) {
		if cfg.CloudWatchEndpointURL != "" {
			o.BaseEndpoint = aws.String(cfg.CloudWatchEndpointURL)
		}
	})
	return client, transport, nil
}

// loadAWSConfig resolves region and credentials the SDK's way, with cfg's
// HTTP settings; the transport it returns is the connection pool.
func loadAWSConfig(ctx context.Context, cfg *Config, retryer aws.Retryer, log *slog.Logger) (aws.Config, *http.Transport, error) {
	loadOpts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithHTTPClient(newHTTPClient(cfg)),
		awsconfig.WithRetryer(func() aws.Retryer { return retryer }),
		awsconfig.WithLogger(sdkLogger{log}),
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
		return aws.Config{}, nil, &ConfigError{Field: "(aws)", Reason: "could not load the AWS configuration: " + err.Error()}
	}
	if awsCfg.Region == "" {
		return aws.Config{}, nil, &ConfigError{Field: "region", Reason: "is not set: pass region= or set AWS_REGION"}
	}
	// The buildable client now carries any custom CA bundle; freeze its
	// transport so the producer owns (and can close) the connection pool.
	var transport *http.Transport
	if buildable, ok := awsCfg.HTTPClient.(*awshttp.BuildableClient); ok {
		transport = buildable.GetTransport()
		awsCfg.HTTPClient = sdkHTTPClient{&http.Client{Transport: transport}}
	}
	return awsCfg, transport, nil
}

// sdkHTTPClient sends the SDK's requests through client with each request
// body offered to the transport through Read alone.
//
// The SDK wraps a body that has WriteTo (its serializers' *bytes.Reader) in
// a closer whose WriteTo answers io.EOF once closed, and closes it as soon
// as the response's headers arrive. net/http's request writer, after
// sending the body's declared length, reads on to check that nothing is
// left; when the writing goroutine gets there only after the answer came,
// that io.EOF is taken for a failed write and the connection is closed,
// possibly while the answer's body is still being read. A request the
// service had answered with 200 then failed with "use of closed network
// connection", and its records were sent and stored again. Read on a closed
// body just reports the end.
type sdkHTTPClient struct{ client *http.Client }

func (c sdkHTTPClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = readOnlyBody{req.Body}
	}
	return c.client.Do(req)
}

// readOnlyBody hides every method of a request body but Read and Close.
type readOnlyBody struct{ io.ReadCloser }

// KinesisClient is the SDK client with the connection pool it owns.
type KinesisClient struct {
	*kinesis.Client
	transport *http.Transport
}

// CloseIdleConnections closes the pooled connections that are not in use.
func (c *KinesisClient) CloseIdleConnections() {
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
}

// newHTTPClient is the SDK's buildable client (so AWS_CA_BUNDLE and the
// shared config's ca_bundle still apply) with cfg's timeouts, connection limit
// and TLS verification.
func newHTTPClient(cfg *Config) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = cfg.ConnectTimeout
			d.KeepAlive = 30 * time.Second
		}).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = cfg.ConnectTimeout
			t.MaxIdleConns = int(cfg.MaxConnections)
			t.MaxIdleConnsPerHost = int(cfg.MaxConnections)
			t.MaxConnsPerHost = int(cfg.MaxConnections)
			if !cfg.VerifySSL {
				if t.TLSClientConfig == nil {
					t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
				}
				t.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // asked for by verify_ssl=False (emulators)
			}
		})
}

// sdkLogger sends the SDK's own messages (credential fallbacks, response
// body warnings) to the producer's logger instead of stderr.
type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Logf(classification logging.Classification, format string, v ...any) {
	message := fmt.Sprintf(format, v...)
	level := slog.LevelDebug
	if classification == logging.Warn && !strings.HasPrefix(message, sdkDiscardWarning) {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, "gokpl: aws sdk: "+message)
}

// sdkDiscardWarning starts the SDK's note that it could not read a response
// to its end after the request returned, so the connection is not reused.
// Closing a producer closes its idle connections while such a read may
// still run; it says nothing about any record, so it is logged at debug.
const sdkDiscardWarning = "failed to discard remaining HTTP response body"
