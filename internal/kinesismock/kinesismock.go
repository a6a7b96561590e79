// Package kinesismock runs kinesis-mock, an emulator of the Amazon Kinesis
// Data Streams API, as a child process so that tests can talk to a real
// Kinesis wire protocol on loopback.
//
// The emulator is the npm package kinesis-local (a single main.js run with
// Node.js), pinned in tests/emulator/package.json and installed with
// `make emulator` (npm ci --prefix tests/emulator). This package is
// responsible for finding it, starting it on free ports, waiting until it
// serves requests and its streams are ACTIVE, and making sure the node
// process never outlives the test that started it.
//
// Each Emulator owns one node process with its own, empty, in-memory state;
// independent tests, including parallel ones, can each start their own.
package kinesismock

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Region is the AWS region the emulator serves and Client signs for.
const Region = "us-east-1"

// EnvMainJS names the environment variable that overrides where main.js of
// kinesis-local is looked up.
const EnvMainJS = "GOKPL_KINESIS_MOCK"

// mainJSRel is where `npm ci --prefix tests/emulator` puts the emulator,
// relative to the repository root.
var mainJSRel = filepath.Join("tests", "emulator", "node_modules", "kinesis-local", "main.js")

// ErrNotInstalled reports that the emulator cannot be run on this machine:
// kinesis-local's main.js (or the server.json next to it) or the node binary
// is missing. Errors returned by Start wrap it with the detail.
var ErrNotInstalled = errors.New("kinesismock: Kinesis emulator not installed; run `make emulator` (npm ci --prefix tests/emulator)")

const (
	defaultStartTimeout = 60 * time.Second
	// startAttempts bounds how often Start picks new ports after the
	// emulator failed to bind the ones it was given.
	startAttempts = 3
	// closeGrace is how long Close waits after SIGTERM before SIGKILL.
	// kinesis-mock's graceful shutdown waits for every open client
	// connection to close, so a client holding a keep-alive connection
	// would otherwise delay Close indefinitely.
	closeGrace = time.Second
	// pollInterval paces health and stream-status polling.
	pollInterval = 25 * time.Millisecond
	// probeTimeout bounds a single readiness probe request.
	probeTimeout = 2 * time.Second
	// outputLimit bounds the emulator output kept in memory.
	outputLimit = 64 << 10
	// errorTailLimit bounds the emulator output quoted in an error.
	errorTailLimit = 8 << 10
	// dummyAccessKey signs requests. kinesis-mock checks that requests are
	// signed but not the signature; a 12-digit access key would select a
	// different emulated account, so this one must not be 12 digits.
	dummyAccessKey = "gokpl-test"
	dummySecretKey = "gokpl-test"
)

// emulatorVars are the environment variables kinesis-mock reads. Values
// inherited from the test process's environment are dropped so that a
// developer's shell (AWS_REGION, say) cannot change the emulator's behaviour.
var emulatorVars = []string{
	"AWS_ACCOUNT_ID", "AWS_REGION", "INITIALIZE_STREAMS", "LOG_LEVEL", "ROOT_LOG_LEVEL",
	"KINESIS_MOCK_CERT_PASSWORD", "KINESIS_MOCK_CERT_PATH", "KINESIS_MOCK_KEYMANAGER_PASSWORD",
	"KINESIS_MOCK_KEYSTORE_PASSWORD", "KINESIS_MOCK_PLAIN_PORT", "KINESIS_MOCK_TLS_PORT",
	"CREATE_STREAM_DURATION", "DELETE_STREAM_DURATION", "DEREGISTER_STREAM_CONSUMER_DURATION",
	"MERGE_SHARDS_DURATION", "REGISTER_STREAM_CONSUMER_DURATION", "SPLIT_SHARD_DURATION",
	"START_STREAM_ENCRYPTION_DURATION", "STOP_STREAM_ENCRYPTION_DURATION",
	"UPDATE_SHARD_COUNT_DURATION", "UPDATE_STREAM_MODE_DURATION",
	"SHARD_LIMIT", "ON_DEMAND_STREAM_COUNT_LIMIT",
	"LOAD_DATA_IF_EXISTS", "SHOULD_PERSIST_DATA", "PERSIST_PATH", "PERSIST_FILE_NAME", "PERSIST_INTERVAL",
}

// defaultEnv holds settings applied unless Options.Env overrides them:
// streams become ACTIVE (and are deleted) at once, nothing touches disk, and
// only warnings and errors are logged.
var defaultEnv = []string{
	"CREATE_STREAM_DURATION=0ms",
	"DELETE_STREAM_DURATION=0ms",
	"SHOULD_PERSIST_DATA=false",
	"LOAD_DATA_IF_EXISTS=false",
	"LOG_LEVEL=WARN",
}

// streamNameRE is the Kinesis stream name syntax. It also keeps names free
// of the ',' and ':' that INITIALIZE_STREAMS uses as separators.
var streamNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)

// errPortInUse marks a start that failed only because a port was taken in
// the gap between picking it and the emulator binding it.
var errPortInUse = errors.New("port already in use")

// Options configures Start. The zero value starts an emulator with no
// streams, found through $GOKPL_KINESIS_MOCK or the repository layout.
type Options struct {
	// MainJS is the path to kinesis-local's main.js. Default: the value of
	// $GOKPL_KINESIS_MOCK, else tests/emulator/node_modules/kinesis-local/main.js
	// in the working directory or the nearest parent that has it.
	MainJS string
	// Streams are created when the emulator starts (stream name to shard
	// count); Start returns only once all of them are ACTIVE.
	Streams map[string]int
	// StartTimeout bounds Start, from launching node until the streams are
	// ACTIVE, and each CreateStream. Default 60s.
	StartTimeout time.Duration
	// Env holds extra KEY=VALUE settings for kinesis-mock, such as
	// SPLIT_SHARD_DURATION=0ms or SHARD_LIMIT=100. They override this
	// package's defaults (CREATE_STREAM_DURATION=0ms,
	// DELETE_STREAM_DURATION=0ms, LOG_LEVEL=WARN, no persistence) but not
	// the settings it owns: the ports, the certificate path, AWS_REGION and
	// INITIALIZE_STREAMS.
	Env []string
}

// Emulator is one running kinesis-mock process. Its methods are safe for
// concurrent use. Close must be called to stop the process; Require arranges
// that for tests.
type Emulator struct {
	cmd          *exec.Cmd
	out          *tailBuffer
	plainPort    int
	tlsPort      int
	startTimeout time.Duration
	client       *kinesis.Client
	clientTrans  *http.Transport // Client's transport
	probeTrans   *http.Transport // readiness probes' transport

	exited  chan struct{} // closed once the node process has been reaped
	waitErr error         // cmd.Wait's result; read only after exited is closed

	closeOnce sync.Once
}

// Start launches kinesis-mock on two free loopback ports and returns once it
// answers on both, over plain HTTP and TLS, and every stream in
// opts.Streams is ACTIVE. ctx bounds only the start; the emulator keeps
// running until Close. Errors wrap ErrNotInstalled when the emulator or
// node is missing; other start errors quote the tail of the emulator's
// output.
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	for name, shards := range opts.Streams {
		if err := validateStream(name, shards); err != nil {
			return nil, err
		}
	}
	mainJS, err := resolveMainJS(opts.MainJS)
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node (Node.js 20 or later) not found: %v", ErrNotInstalled, err)
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		e, err := launch(ctx, node, mainJS, opts, timeout)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if !errors.Is(err, errPortInUse) || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// launch makes one attempt at starting the emulator on freshly picked ports.
func launch(ctx context.Context, node, mainJS string, opts Options, timeout time.Duration) (*Emulator, error) {
	ports, err := pickPorts(2)
	if err != nil {
		return nil, fmt.Errorf("kinesismock: picking free ports: %w", err)
	}
	out := newTailBuffer(outputLimit)
	cmd := exec.Command(node, mainJS)
	// kinesis-mock resolves relative paths (PERSIST_PATH) against its working
	// directory. It writes nothing unless Options.Env enables persistence,
	// so the shared temporary directory will do and nothing is left behind
	// when the emulator is killed.
	cmd.Dir = os.TempDir()
	cmd.Env = emulatorEnv(os.Environ(), ports[0], ports[1], mainJS, opts)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 2 * time.Second
	configureProcess(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("kinesismock: starting %s %s: %w", node, mainJS, err)
	}

	e := &Emulator{
		cmd:          cmd,
		out:          out,
		plainPort:    ports[0],
		tlsPort:      ports[1],
		startTimeout: timeout,
		exited:       make(chan struct{}),
		probeTrans: &http.Transport{
			// The emulator's certificate is self-signed and names no host;
			// the readiness probe checks only that TLS is served.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
		},
	}
	go func() {
		e.waitErr = cmd.Wait()
		close(e.exited)
	}()
	e.clientTrans = http.DefaultTransport.(*http.Transport).Clone()
	e.client = NewClient(e.Endpoint(), &http.Client{Transport: e.clientTrans})

	if err := e.waitReady(ctx); err != nil {
		_ = e.Close()
		if e.outputContains("EADDRINUSE", "Address already in use") {
			return nil, fmt.Errorf("kinesismock: %w%s", errPortInUse, e.outputTail())
		}
		return nil, fmt.Errorf("kinesismock: emulator not ready: %w%s", err, e.outputTail())
	}
	for _, name := range sortedKeys(opts.Streams) {
		if err := e.waitActive(ctx, name, true); err != nil {
			_ = e.Close()
			return nil, fmt.Errorf("kinesismock: %w%s", err, e.outputTail())
		}
	}
	return e, nil
}

// NewClient returns a Kinesis client for an emulator endpoint (plain or
// TLS), signing with dummy static credentials for Region. httpClient may be
// nil for the SDK's default; pass one that skips certificate verification
// to use the TLS endpoint.
func NewClient(endpoint string, httpClient *http.Client) *kinesis.Client {
	o := kinesis.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(dummyAccessKey, dummySecretKey, ""),
	}
	if httpClient != nil {
		o.HTTPClient = httpClient
	}
	return kinesis.New(o)
}

// Endpoint is the emulator's plain HTTP endpoint, http://127.0.0.1:PORT.
func (e *Emulator) Endpoint() string {
	return "http://127.0.0.1:" + strconv.Itoa(e.plainPort)
}

// TLSEndpoint is the emulator's HTTPS endpoint, https://127.0.0.1:PORT. Its
// certificate is self-signed, carries no host names, and cannot be
// verified; clients must skip verification.
func (e *Emulator) TLSEndpoint() string {
	return "https://127.0.0.1:" + strconv.Itoa(e.tlsPort)
}

// Client returns a Kinesis client for Endpoint, with dummy static
// credentials and region us-east-1. The same client is returned every time;
// it is safe for concurrent use.
func (e *Emulator) Client() *kinesis.Client {
	return e.client
}

// Done returns a channel that is closed when the node process has exited,
// whether through Close or on its own.
func (e *Emulator) Done() <-chan struct{} {
	return e.exited
}

// Output returns the most recent output (stdout and stderr interleaved,
// at most 64 KiB) of the emulator process.
func (e *Emulator) Output() string {
	s, _ := e.out.Tail(0)
	return s
}

// CreateStream creates a provisioned stream with the given shard count and
// returns once it is ACTIVE. It gives up after ctx ends or after the
// Options.StartTimeout the emulator was started with, whichever is first.
func (e *Emulator) CreateStream(ctx context.Context, name string, shards int) error {
	if err := validateStream(name, shards); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.startTimeout)
	defer cancel()
	_, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{
		StreamName: aws.String(name),
		ShardCount: aws.Int32(int32(shards)),
	})
	if err != nil {
		return fmt.Errorf("kinesismock: creating stream %q: %w", name, err)
	}
	return e.waitActive(ctx, name, false)
}

// Close stops the emulator: SIGTERM to its process group, then SIGKILL if it
// has not exited within a grace period (1s). It waits for the process to be
// reaped. Close is idempotent and safe to call concurrently; it always
// returns nil and has an error result to satisfy io.Closer.
//
// kinesis-mock exits on SIGTERM only once all client connections are
// closed. Close drops Client's idle connections itself; other clients that
// still hold connections make Close take the full grace period.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		e.clientTrans.CloseIdleConnections()
		e.probeTrans.CloseIdleConnections()
		select {
		case <-e.exited:
		default:
			terminateGroup(e.cmd)
			select {
			case <-e.exited:
			case <-time.After(closeGrace):
				killGroup(e.cmd)
				<-e.exited
			}
		}
	})
	return nil
}

// waitReady polls /healthcheck on the plain port, then on the TLS port,
// until both answer 200, the process exits, or ctx ends.
func (e *Emulator) waitReady(ctx context.Context) error {
	client := &http.Client{Transport: e.probeTrans, Timeout: probeTimeout}
	urls := []string{e.Endpoint() + "/healthcheck", e.TLSEndpoint() + "/healthcheck"}
	// A probe stuck on a port some other process took must not outlast
	// the emulator.
	probeCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-e.exited:
			cancel()
		case <-probeCtx.Done():
		}
	}()
	var lastErr error
	for {
		lastErr = nil
		for _, u := range urls {
			if lastErr = probe(probeCtx, client, u); lastErr != nil {
				break
			}
		}
		if lastErr == nil {
			return nil
		}
		select {
		case <-e.exited:
			return fmt.Errorf("emulator exited (%v)", e.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%w (last probe: %v)", ctx.Err(), lastErr)
		case <-time.After(pollInterval):
		}
	}
}

func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// waitActive polls DescribeStreamSummary until the stream is ACTIVE, the
// process exits, or ctx ends. If initial is set, the stream was one of
// INITIALIZE_STREAMS, which kinesis-mock creates before it starts serving
// requests; if such a stream does not exist, creating it failed (for
// example it exceeded SHARD_LIMIT) and waiting longer would not help.
func (e *Emulator) waitActive(ctx context.Context, name string, initial bool) error {
	var last string
	for {
		out, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err == nil && out.StreamDescriptionSummary != nil {
			status := out.StreamDescriptionSummary.StreamStatus
			if status == types.StreamStatusActive {
				return nil
			}
			last = "status " + string(status)
		} else if err != nil {
			if _, missing := errors.AsType[*types.ResourceNotFoundException](err); missing && initial {
				return fmt.Errorf("stream %q was not created at start (the emulator output says why)", name)
			}
			last = err.Error()
		}
		select {
		case <-e.exited:
			return fmt.Errorf("waiting for stream %q to become ACTIVE: emulator exited (%v)", name, e.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("waiting for stream %q to become ACTIVE: %w (last: %s)", name, ctx.Err(), last)
		case <-time.After(pollInterval):
		}
	}
}

// outputTail formats the end of the emulator's output for an error message,
// leaving out stack trace lines.
func (e *Emulator) outputTail() string {
	full, cut := e.out.Tail(0)
	var kept []string
	traces := false
	for _, line := range strings.Split(full, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "at ") || t == "<no stack trace available>" {
			traces = true
			continue
		}
		kept = append(kept, line)
	}
	tail := strings.Join(kept, "\n")
	if len(tail) > errorTailLimit {
		tail, cut = tail[len(tail)-errorTailLimit:], true
	}
	tail = strings.TrimSpace(tail)
	if tail == "" {
		return "\n--- emulator output: (none) ---"
	}
	var notes []string
	if cut {
		notes = append(notes, "last part")
	}
	if traces {
		notes = append(notes, "stack traces omitted")
	}
	head := "\n--- emulator output ---\n"
	if len(notes) > 0 {
		head = "\n--- emulator output (" + strings.Join(notes, ", ") + ") ---\n"
	}
	return head + tail + "\n--- end of emulator output ---"
}

func (e *Emulator) outputContains(subs ...string) bool {
	s := e.Output()
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// Require starts an emulator for a test and stops it in t.Cleanup. If the
// emulator is not installed it skips the test, loudly, unless the
// environment variable CI is "true", in which case it fails the test. Any
// other start failure fails the test.
func Require(t testing.TB, opts Options) *Emulator {
	t.Helper()
	e, err := Start(context.Background(), opts)
	if errors.Is(err, ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: a missing emulator fails the test)", err)
		}
		t.Skipf("SKIPPED: KINESIS EMULATOR NOT INSTALLED, this test did not run. %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("stopping Kinesis emulator: %v", err)
		}
	})
	return e
}

// resolveMainJS finds kinesis-local's main.js: explicit, else
// $GOKPL_KINESIS_MOCK, else under tests/emulator in the working directory or
// its nearest parent that has it. It checks that main.js and the server.json
// certificate next to it exist and returns an absolute path.
func resolveMainJS(explicit string) (string, error) {
	path, from := explicit, "the given path"
	if path == "" {
		path, from = os.Getenv(EnvMainJS), "$"+EnvMainJS
	}
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
		}
		for dir := wd; ; {
			candidate := filepath.Join(dir, mainJSRel)
			if _, err := os.Stat(candidate); err == nil {
				path, from = candidate, "repository layout"
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return "", fmt.Errorf("%w: %s not found in %s or any parent directory", ErrNotInstalled, mainJSRel, wd)
			}
			dir = parent
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	for _, f := range []string{abs, filepath.Join(filepath.Dir(abs), "server.json")} {
		info, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("%w: %s (main.js from %s): %v", ErrNotInstalled, f, from, err)
		}
		if !info.Mode().IsRegular() {
			return "", fmt.Errorf("%w: %s (main.js from %s) is not a regular file", ErrNotInstalled, f, from)
		}
	}
	return abs, nil
}

// emulatorEnv builds the emulator's environment: the inherited one without
// kinesis-mock's variables, then defaultEnv, then opts.Env, then the
// settings this package owns. exec.Cmd keeps the last value of a repeated
// key.
func emulatorEnv(inherited []string, plainPort, tlsPort int, mainJS string, opts Options) []string {
	env := make([]string, 0, len(inherited)+len(defaultEnv)+len(opts.Env)+5)
	for _, kv := range inherited {
		key, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(emulatorVars, key) {
			env = append(env, kv)
		}
	}
	env = append(env, defaultEnv...)
	env = append(env, opts.Env...)
	env = append(env,
		"KINESIS_MOCK_PLAIN_PORT="+strconv.Itoa(plainPort),
		"KINESIS_MOCK_TLS_PORT="+strconv.Itoa(tlsPort),
		// The default is "server.json" relative to the working directory.
		"KINESIS_MOCK_CERT_PATH="+filepath.Join(filepath.Dir(mainJS), "server.json"),
		"AWS_REGION="+Region,
	)
	if len(opts.Streams) > 0 {
		specs := make([]string, 0, len(opts.Streams))
		for _, name := range sortedKeys(opts.Streams) {
			specs = append(specs, name+":"+strconv.Itoa(opts.Streams[name]))
		}
		env = append(env, "INITIALIZE_STREAMS="+strings.Join(specs, ","))
	}
	return env
}

func validateStream(name string, shards int) error {
	if !streamNameRE.MatchString(name) {
		return fmt.Errorf("kinesismock: invalid stream name %q (want 1-128 of [a-zA-Z0-9_.-])", name)
	}
	if shards < 1 || shards > math.MaxInt32 {
		return fmt.Errorf("kinesismock: stream %q: invalid shard count %d", name, shards)
	}
	return nil
}

// pickPorts chooses the emulator's ports; tests replace it.
var pickPorts = freePorts

// freePorts returns n distinct loopback ports that were free a moment ago.
// The listeners are held until all are picked so the ports differ.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
