package core

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"

	"github.com/gokpl/gokpl/core/kinesistest"
)

// A failed connection says whether the records may have been written: not
// when no connection was made, possibly when it failed after the request
// went out, whether or not an answer had started.
func TestConnectionFailuresSayWhetherRecordsMayHaveBeenWritten(t *testing.T) {
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 1}})
	defer srv.Close()
	refused := closedPort(t)
	cutShort := httptest.NewServer(http.HandlerFunc(answerCutShort))
	defer cutShort.Close()

	cases := []struct {
		name, endpoint string
		fault          *kinesistest.Fault
		code, says     string
	}{
		{"connection refused", refused, nil, CodeNetworkError, "not sent"},
		{"reset before the answer", srv.URL, &kinesistest.Fault{ResetConnection: true}, CodeResponseLost, "may have been written"},
		{"answer cut short", cutShort.URL, nil, CodeResponseLost, "may have been written"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != nil {
				srv.InjectFault("PutRecords", *tc.fault)
			}
			client := testKinesisClient(t, tc.endpoint)
			defer client.CloseIdleConnections()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := client.PutRecords(ctx, bigPutRecordsInput("s", 2))
			if err == nil {
				t.Fatal("the request succeeded")
			}
			code, message := requestErrorCode(err)
			if code != tc.code || !strings.Contains(message, tc.says) || classifyCode(code) != actionRetry {
				t.Errorf("code %q (%v), message %q; want %s, retried, saying %q", code, classifyCode(code), message, tc.code, tc.says)
			}
		})
	}
}

// closedPort is an endpoint on a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

// answerCutShort answers 200 and drops the connection half-way through the body.
func answerCutShort(w http.ResponseWriter, r *http.Request) {
	_, _ = r.Body.Read(make([]byte, 1<<16))
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"FailedRecordCount":0,"Records":[`))
	w.(http.Flusher).Flush()
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// A refusal of the credentials keeps the service's code, and is retried,
// only once the client refreshed them to new ones.
func TestRefusedCredentialsAreCodedByWhetherRefreshingHelped(t *testing.T) {
	refusal := &smithy.GenericAPIError{Code: "ExpiredTokenException", Message: "The security token included in the request is expired"}
	cases := []struct {
		err  error
		code string
	}{
		{refusal, CodeCredentialsRejected},
		{&credentialsRenewedError{refusal}, "ExpiredTokenException"},
		{&smithy.GenericAPIError{Code: "UnrecognizedClientException"}, CodeCredentialsRejected},
		{&credentialsError{err: errors.New("no EC2 IMDS role found"), never: true}, CodeNoCredentials},
		{&credentialsError{err: errors.New("STS unreachable")}, CodeCredentialsUnavailable},
		{&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not allowed"}, "AccessDeniedException"},
	}
	for _, tc := range cases {
		code, message := requestErrorCode(tc.err)
		if code != tc.code || message == "" {
			t.Errorf("%v: code %q (%q), want %q", tc.err, code, message, tc.code)
		}
	}
	for code, want := range map[string]action{
		CodeCredentialsRejected: actionFail, CodeNoCredentials: actionFail, CodeTLSVerificationFailed: actionFail,
		CodeCredentialsUnavailable: actionRetry, "ExpiredTokenException": actionRefreshCredentials,
	} {
		if got := classifyCode(code); got != want {
			t.Errorf("classifyCode(%s) = %v, want %v", code, got, want)
		}
	}
}

// The tracker refreshes refused credentials once, however many calls signed
// with them were refused, and reports whether the refresh gave others.
func TestCredentialTrackerRenewsRefusedCredentials(t *testing.T) {
	var retrievals atomic.Int64
	counting := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		n := retrievals.Add(1)
		return aws.Credentials{AccessKeyID: "AKID" + string(rune('0'+n)), SecretAccessKey: "s"}, nil
	})
	tracker := &credentialTracker{provider: aws.NewCredentialsCache(counting)}
	ctx, used := tracker.track(context.Background())
	if _, err := tracker.Retrieve(ctx); err != nil || used.AccessKeyID != "AKID1" {
		t.Fatalf("signed with %+v (%v)", used, err)
	}
	for i := range 3 { // three calls signed with AKID1 refused
		if !tracker.renew(ctx, used) {
			t.Fatalf("refusal %d: refreshable credentials not renewed", i)
		}
	}
	if n := retrievals.Load(); n != 2 {
		t.Errorf("%d retrievals, want 2: one refresh for the three refusals", n)
	}

	static := &credentialTracker{provider: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKID", "s", "t"))}
	ctx, used = static.track(context.Background())
	if _, err := static.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	if static.renew(ctx, used) {
		t.Error("static credentials reported renewed")
	}
}

// A failure to get credentials tells a producer that never had any from one
// that could not refresh them; a call that ran out of time is neither.
func TestCredentialTrackerTellsMissingFromUnrefreshable(t *testing.T) {
	fail := atomic.Bool{}
	fail.Store(true)
	provider := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		if fail.Load() {
			return aws.Credentials{}, errors.New("no credentials")
		}
		return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "s", CanExpire: true, Expires: time.Now().Add(-time.Second)}, nil
	})
	tracker := &credentialTracker{provider: provider}
	if _, err := tracker.Retrieve(context.Background()); code(err) != CodeNoCredentials {
		t.Errorf("before any credentials: %s (%v)", code(err), err)
	}
	fail.Store(false)
	if _, err := tracker.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	if _, err := tracker.Retrieve(context.Background()); code(err) != CodeCredentialsUnavailable {
		t.Errorf("after credentials: %s (%v)", code(err), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var creds *credentialsError
	if _, err := tracker.Retrieve(ctx); errors.As(err, &creds) {
		t.Errorf("a cancelled call's failure was taken for the credentials': %v", err)
	}
}

func code(err error) string {
	c, _ := requestErrorCode(err)
	return c
}

// One warning per setup problem, until a call succeeds.
func TestSetupWarningsOncePerProblem(t *testing.T) {
	var logged []string
	w := setupWarnings{log: slog.New(recordingHandler{&logged})}
	noCredentials := &credentialsError{err: errors.New("none"), never: true}
	for range 3 {
		w.observe(noCredentials)
	}
	w.observe(&smithy.GenericAPIError{Code: "InternalFailure"})
	w.observe(&smithy.GenericAPIError{Code: "UnrecognizedClientException"})
	w.cleared()
	w.observe(noCredentials)
	if len(logged) != 3 || !strings.Contains(logged[0], CodeNoCredentials) || !strings.Contains(logged[1], CodeCredentialsRejected) || !strings.Contains(logged[2], CodeNoCredentials) {
		t.Errorf("logged %q", logged)
	}
}

type recordingHandler struct{ messages *[]string }

func (h recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h recordingHandler) Handle(_ context.Context, r slog.Record) error {
	*h.messages = append(*h.messages, r.Message)
	return nil
}

// A failed lookup of a stream's maximum record size is tried again only
// when a later try may be answered otherwise.
func TestOnlyTransientLookupFailuresAreTriedAgain(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 1}})
	defer srv.Close()
	client := testKinesisClient(t, srv.URL)
	cases := []struct {
		fault     kinesistest.Fault
		transient bool
	}{
		{kinesistest.ErrorFault(500, "InternalFailure", "boom"), true},
		{kinesistest.ErrorFault(503, "ServiceUnavailable", "later"), true},
		{kinesistest.ErrorFault(400, "LimitExceededException", "slow down"), true},
		{kinesistest.Fault{ResetConnection: true}, true},
		{kinesistest.ErrorFault(400, "AccessDeniedException", "no"), false},
		{kinesistest.ErrorFault(400, "ResourceNotFoundException", "gone"), false},
	}
	for _, c := range cases {
		srv.InjectFault("DescribeStreamSummary", c.fault)
		_, err := client.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")})
		if err == nil {
			t.Fatalf("%+v: no error", c.fault)
		}
		if got := transientLookupError(err); got != c.transient {
			t.Errorf("%v: transient %v, want %v", err, got, c.transient)
		}
	}
}
