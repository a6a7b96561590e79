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
	"sync"
	"sync/atomic"
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
// keys; cfg's endpoint, TLS verification, timeouts and connection limit;
// no SDK retries, because the retrier decides per record; and PutRecords
// bodies written by putRecordsProtocol into buffers that go back to a pool
// once each call is over (requestBodyRecycler).
//
// The SDK's own messages and the warnings about setup problems (such as a
// shared config file that cannot be read) go to log, or to slog.Default()
// when log is nil. CloseIdleConnections on the result releases its pooled
// connections; Close calls it for the client the producer built.
func NewKinesisClient(ctx context.Context, cfg *Config, log *slog.Logger) (*KinesisClient, error) {
	if log == nil {
		log = slog.Default()
	}
	awsCfg, transport, err := loadAWSConfig(ctx, cfg, aws.NopRetryer{}, log)
	if err != nil {
		return nil, err
	}
	var credentials *credentialTracker
	if awsCfg.Credentials != nil {
		credentials = &credentialTracker{provider: awsCfg.Credentials}
		awsCfg.Credentials = credentials
	}
	client := kinesis.NewFromConfig(awsCfg, func(o *kinesis.Options) {
		if cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(cfg.EndpointURL)
		}
		o.Protocol = putRecordsProtocol{o.Protocol}
		o.APIOptions = append(o.APIOptions, addRequestBodyRecycler)
	})
	return &KinesisClient{Client: client, transport: transport, credentials: credentials, setup: setupWarnings{log: log}}, nil
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
		return aws.Config{}, nil, &ConfigError{Field: ConfigFieldAWS, Reason: "could not load the AWS configuration: " + err.Error()}
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

// KinesisClient is the SDK client with the connection pool it owns. Its
// calls refresh credentials the service refused (see settle) and log one
// warning when calls start failing with a setup problem.
type KinesisClient struct {
	*kinesis.Client
	transport   *http.Transport
	credentials *credentialTracker // nil without credentials
	setup       setupWarnings
}

// PutRecords is the SDK's PutRecords, its error settled (see settle).
func (c *KinesisClient) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	ctx, used := c.credentials.track(ctx)
	out, err := c.Client.PutRecords(ctx, in, optFns...)
	return out, c.settle(ctx, err, used)
}

// ListShards is the SDK's ListShards, its error settled (see settle).
func (c *KinesisClient) ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	ctx, used := c.credentials.track(ctx)
	out, err := c.Client.ListShards(ctx, in, optFns...)
	return out, c.settle(ctx, err, used)
}

// DescribeStreamSummary is the SDK's DescribeStreamSummary, its error
// settled (see settle).
func (c *KinesisClient) DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	ctx, used := c.credentials.track(ctx)
	out, err := c.Client.DescribeStreamSummary(ctx, in, optFns...)
	return out, c.settle(ctx, err, used)
}

// settle is what a call's error becomes. When the service refused the
// credentials the call was signed with, they are refreshed, and the error
// is marked worth retrying if that gave other ones (errors.go then keeps the
// service's code; otherwise it is CredentialsRejected). A setup problem is
// logged once.
func (c *KinesisClient) settle(ctx context.Context, err error, used *aws.Credentials) error {
	if err == nil {
		c.setup.cleared()
		return nil
	}
	if refusesCredentials(err) && c.credentials.renew(ctx, used) {
		err = &credentialsRenewedError{err}
	}
	c.setup.observe(err)
	return err
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

// credentialTracker stands between the SDK and its credentials cache
// (provider). It notes in each call's context the credentials the call is
// signed with, tells a producer that never had credentials from one whose
// credentials could not be refreshed, and refreshes credentials the service
// refused. Safe for concurrent use.
type credentialTracker struct {
	provider aws.CredentialsProvider
	obtained atomic.Bool // credentials were retrieved at least once
	renewing sync.Mutex  // one refresh at a time
}

// signingCredentialsKey keys the *aws.Credentials a call was signed with.
type signingCredentialsKey struct{}

// track returns ctx carrying a place for the credentials that sign the call
// made with it, and that place; nil without a tracker.
func (t *credentialTracker) track(ctx context.Context) (context.Context, *aws.Credentials) {
	if t == nil {
		return ctx, nil
	}
	used := new(aws.Credentials)
	return context.WithValue(ctx, signingCredentialsKey{}, used), used
}

// Retrieve is the cache's Retrieve, noting the credentials in ctx's place
// and wrapping a failure in a *credentialsError.
func (t *credentialTracker) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := t.provider.Retrieve(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return creds, err // the call timed out or was cancelled meanwhile
		}
		return creds, &credentialsError{err: err, never: !t.obtained.Load()}
	}
	if !t.obtained.Load() {
		t.obtained.Store(true)
	}
	if used, ok := ctx.Value(signingCredentialsKey{}).(*aws.Credentials); ok {
		*used = creds
	}
	return creds, nil
}

// ProviderSources is the cache's, for the SDK's user agent.
func (t *credentialTracker) ProviderSources() []aws.CredentialSource {
	if s, ok := t.provider.(aws.CredentialProviderSource); ok {
		return s.ProviderSources()
	}
	return nil
}

// renew answers the service refusing the credentials used: it reports
// whether later calls will be signed with others, refreshing the cache
// first if it still holds the refused ones. Credentials that cannot be
// refreshed (static keys) come back the same, so their refusal is final.
func (t *credentialTracker) renew(ctx context.Context, used *aws.Credentials) bool {
	if t == nil || used == nil {
		return false
	}
	t.renewing.Lock()
	defer t.renewing.Unlock()
	if current, err := t.provider.Retrieve(ctx); err == nil && !sameCredentials(current, *used) {
		return true // another call's refusal refreshed them already
	}
	cache, ok := t.provider.(interface{ Invalidate() })
	if !ok {
		return false
	}
	cache.Invalidate()
	fresh, err := t.provider.Retrieve(ctx)
	return err == nil && !sameCredentials(fresh, *used)
}

func sameCredentials(a, b aws.Credentials) bool {
	return a.AccessKeyID == b.AccessKeyID && a.SecretAccessKey == b.SecretAccessKey && a.SessionToken == b.SessionToken
}

// setupWarnings logs one warning, naming the cause, when calls start failing
// with a setup problem (errors.go: setupProblems). Once a call succeeds, the
// next such failure is logged again. Safe for concurrent use; a success
// costs one atomic load.
type setupWarnings struct {
	log     *slog.Logger
	failing atomic.Bool // something was logged and no call succeeded since
	mu      sync.Mutex
	warned  map[string]bool // codes logged since the last success
}

// observe logs err if it is the first failure of its setup problem.
func (w *setupWarnings) observe(err error) {
	code, message := requestErrorCode(err)
	advice := setupProblems[code]
	if advice == "" {
		return
	}
	w.mu.Lock()
	first := !w.warned[code]
	if first {
		if w.warned == nil {
			w.warned = make(map[string]bool)
		}
		w.warned[code] = true
		w.failing.Store(true)
	}
	w.mu.Unlock()
	if first && w.log != nil {
		w.log.Warn("gokpl: records fail at once ("+code+"): "+advice, "error", message)
	}
}

// cleared notes a call that succeeded.
func (w *setupWarnings) cleared() {
	if !w.failing.Load() {
		return
	}
	w.mu.Lock()
	clear(w.warned)
	w.failing.Store(false)
	w.mu.Unlock()
}
