package core_test

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/core/kinesistest"
)

// Setup problems (no credentials, credentials the service refuses and that
// cannot be refreshed, an endpoint whose certificate fails verification)
// fail records at once with their own code, not as Expired after the TTL,
// and log one warning naming the cause. The producers here keep the default
// 30 s TTL and aggregation, so records first wait for a shard map that
// cannot load.

// setupProblemDeadline bounds how long a record may take to fail.
const setupProblemDeadline = 5 * time.Second

// warnings records the messages a producer logs at warning level or above.
type warnings struct {
	mu       sync.Mutex
	messages []string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler           { return w }
func (w *warnings) WithGroup(string) slog.Handler                { return w }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = append(w.messages, r.Message)
	return nil
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.messages...)
}

// setupProducer is a producer for endpoint with adjust applied, logging
// warnings to the returned recorder.
func setupProducer(t *testing.T, endpoint string, adjust func(*core.Config)) (*core.Producer, *warnings) {
	t.Helper()
	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.EndpointURL = endpoint
	if adjust != nil {
		adjust(&cfg)
	}
	w := &warnings{}
	p, err := core.New(context.Background(), cfg, core.WithLogger(slog.New(w)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeProducer(t, p) })
	return p, w
}

// expectSetupFailure puts records, some before and some after the first
// failed, and checks that each fails with code within the deadline, and
// that one warning naming code was logged.
func expectSetupFailure(t *testing.T, p *core.Producer, w *warnings, code string, attempts int) {
	t.Helper()
	start := time.Now()
	var outcomes []*core.Outcome
	for i := range 5 {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: "k" + string(rune('a'+i)), Data: []byte("x")}))
	}
	first := wait(t, outcomes[0])
	for range 5 {
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: "later", Data: []byte("y")}))
	}
	for i, o := range outcomes {
		r := first
		if i > 0 {
			r = wait(t, o)
		}
		if r.Success || r.ErrorCode() != code || len(r.Attempts()) != attempts {
			t.Fatalf("record %d: success %v, code %q after %d attempts, want %s after %d: %+v", i, r.Success, r.ErrorCode(), len(r.Attempts()), code, attempts, r.Attempts())
		}
	}
	if took := time.Since(start); took > setupProblemDeadline {
		t.Errorf("records took %v to fail, want under %v", took, setupProblemDeadline)
	}
	got := w.all()
	if len(got) != 1 || !strings.Contains(got[0], code) {
		t.Errorf("warnings %q, want one naming %s", got, code)
	}
}

// noCredentialsAnywhere empties every source of the SDK's credential chain
// for the test, IMDS included, so no request leaves the loopback.
func noCredentialsAnywhere(t *testing.T) {
	for _, name := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	dir := t.TempDir()
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestNoCredentialsFailRecordsAtOnce(t *testing.T) {
	noCredentialsAnywhere(t)
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 2}})
	defer srv.Close()
	p, w := setupProducer(t, srv.URL, nil)
	expectSetupFailure(t, p, w, core.CodeNoCredentials, 1)
	if n := srv.Requests("PutRecords") + srv.Requests("ListShards"); n != 0 {
		t.Errorf("%d requests reached the endpoint unsigned", n)
	}
}

// TestNoCredentialsFailRecordsWaitingForTheShardMapAtOnce: records wait for
// the first shard map up to their buffering time, here a minute; a listing
// failing for a setup problem sends them on to fail without that wait.
func TestNoCredentialsFailRecordsWaitingForTheShardMapAtOnce(t *testing.T) {
	noCredentialsAnywhere(t)
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 2}})
	defer srv.Close()
	p, w := setupProducer(t, srv.URL, func(c *core.Config) { c.RecordMaxBufferedTime = time.Minute })
	expectSetupFailure(t, p, w, core.CodeNoCredentials, 1)
}

func TestRefusedCredentialsFailRecordsAtOnce(t *testing.T) {
	for _, refusal := range []string{"UnrecognizedClientException", "InvalidSignatureException", kinesistest.ErrorTypeExpiredToken} {
		t.Run(refusal, func(t *testing.T) {
			srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 2}})
			defer srv.Close()
			srv.ScheduleFault("", kinesistest.ErrorFault(400, refusal, ""), kinesistest.FaultSchedule{Times: -1})
			p, w := setupProducer(t, srv.URL, func(c *core.Config) {
				c.AWSAccessKeyID, c.AWSSecretAccessKey, c.AWSSessionToken = "AKIDSTATIC", "secret", "token"
			})
			expectSetupFailure(t, p, w, core.CodeCredentialsRejected, 1)
		})
	}
}

// Credentials that can be refreshed (here from a credential_process that
// hands out a new key each time) are refreshed when the service calls them
// expired, and the records are sent again with the new ones.
func TestExpiredTokenRetriedWithRefreshedCredentials(t *testing.T) {
	noCredentialsAnywhere(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "credentials.sh")
	writeFile(t, script, "#!/bin/sh\nn=$(( $(cat "+dir+"/n 2>/dev/null || echo 0) + 1 ))\necho $n > "+dir+"/n\n"+
		`printf '{"Version": 1, "AccessKeyId": "AKID%d", "SecretAccessKey": "secret"}' $n`+"\n", 0o700)
	writeFile(t, filepath.Join(dir, "config"), "[default]\ncredential_process = "+script+"\n", 0o600)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))

	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 1}})
	defer srv.Close()
	srv.InjectFault("PutRecords", kinesistest.ErrorFault(400, kinesistest.ErrorTypeExpiredToken, ""))
	p, w := setupProducer(t, srv.URL, func(c *core.Config) { c.AggregationEnabled = false })
	r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")}))
	if !r.Success || len(r.Attempts()) != 2 || r.Attempts()[0].ErrorCode != kinesistest.ErrorTypeExpiredToken {
		t.Fatalf("want success on the second attempt after %s: %+v", kinesistest.ErrorTypeExpiredToken, r.Attempts())
	}
	if got := w.all(); len(got) != 0 {
		t.Errorf("warnings %q, want none", got)
	}
}

func TestUnverifiableCertificatesFailRecordsAtOnce(t *testing.T) {
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 2}})
	defer srv.Close()
	tlsSrv := httptest.NewUnstartedServer(srv) // its certificate: example.com and 127.0.0.1, by a CA of its own
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	static := func(c *core.Config) { c.AWSAccessKeyID, c.AWSSecretAccessKey = "test", "test" }

	t.Run("unknown authority", func(t *testing.T) {
		p, w := setupProducer(t, tlsSrv.URL, static)
		expectSetupFailure(t, p, w, core.CodeTLSVerificationFailed, 1)
	})

	// With the certificate trusted, the endpoint named by address works and
	// named otherwise fails.
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, bundle, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})), 0o600)
	t.Setenv("AWS_CA_BUNDLE", bundle)
	t.Run("trusted", func(t *testing.T) {
		p, w := setupProducer(t, tlsSrv.URL, static)
		if r := wait(t, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x")})); !r.Success {
			t.Fatalf("with the certificate trusted: %+v", r.Attempts())
		}
		if got := w.all(); len(got) != 0 {
			t.Errorf("warnings %q, want none", got)
		}
	})
	t.Run("host name mismatch", func(t *testing.T) {
		p, w := setupProducer(t, strings.Replace(tlsSrv.URL, "127.0.0.1", "localhost", 1), static)
		expectSetupFailure(t, p, w, core.CodeTLSVerificationFailed, 1)
	})
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
