package kinesismock

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

func TestEmulator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := Require(t, Options{Streams: map[string]int{"alpha": 2, "beta": 4}})

	// Plain HTTP, through the client the emulator hands out.
	for stream, want := range map[string]int{"alpha": 2, "beta": 4} {
		if got := countShards(ctx, t, e.Client(), stream); got != want {
			t.Errorf("plain ListShards(%s): %d shards, want %d", stream, got, want)
		}
	}

	// TLS, with a client that accepts the self-signed certificate.
	insecure := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	tlsClient := NewClient(e.TLSEndpoint(), insecure)
	if got := countShards(ctx, t, tlsClient, "beta"); got != 4 {
		t.Errorf("TLS ListShards(beta): %d shards, want 4", got)
	}

	// A record put over one endpoint reads back over the other.
	data := []byte("hello, kinesis")
	put, err := tlsClient.PutRecord(ctx, &kinesis.PutRecordInput{
		StreamName:   aws.String("alpha"),
		PartitionKey: aws.String("pk-1"),
		Data:         data,
	})
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	it, err := e.Client().GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName:        aws.String("alpha"),
		ShardId:           put.ShardId,
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatalf("GetShardIterator: %v", err)
	}
	got, err := e.Client().GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	if len(got.Records) != 1 {
		t.Fatalf("GetRecords: %d records, want 1", len(got.Records))
	}
	r := got.Records[0]
	if !bytes.Equal(r.Data, data) || aws.ToString(r.PartitionKey) != "pk-1" ||
		aws.ToString(r.SequenceNumber) != aws.ToString(put.SequenceNumber) {
		t.Errorf("GetRecords: got (%q, %q, %s), want (%q, %q, %s)",
			r.Data, aws.ToString(r.PartitionKey), aws.ToString(r.SequenceNumber),
			data, "pk-1", aws.ToString(put.SequenceNumber))
	}

	// Streams created later are ACTIVE when CreateStream returns.
	if err := e.CreateStream(ctx, "gamma", 3); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	sum, err := e.Client().DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("gamma")})
	if err != nil {
		t.Fatalf("DescribeStreamSummary: %v", err)
	}
	if s := sum.StreamDescriptionSummary; s.StreamStatus != types.StreamStatusActive || aws.ToInt32(s.OpenShardCount) != 3 {
		t.Errorf("gamma: status %s, %d open shards; want ACTIVE, 3", s.StreamStatus, aws.ToInt32(s.OpenShardCount))
	}
	if err := e.CreateStream(ctx, "gamma", 1); err == nil {
		t.Error("CreateStream of an existing stream succeeded")
	}

	// Close stops the process; both ports stop answering.
	insecure.CloseIdleConnections()
	closeStart := time.Now()
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(closeStart); d >= closeGrace {
		t.Errorf("Close took %v; SIGTERM should have stopped the emulator", d)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case <-e.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	for _, endpoint := range []string{e.Endpoint(), e.TLSEndpoint()} {
		assertNotAnswering(t, endpoint, time.Second)
	}
}

// TestPortTakenRetry makes the first attempt's plain port busy and checks
// that Start tries again on other ports.
func TestPortTakenRetry(t *testing.T) {
	requireInstalled(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	calls := 0
	pickPorts = func(n int) ([]int, error) {
		calls++
		ports, err := freePorts(n)
		if calls == 1 && err == nil {
			ports[0] = busyPort
		}
		return ports, err
	}
	defer func() { pickPorts = freePorts }()

	e := Require(t, Options{})
	if calls != 2 {
		t.Errorf("picked ports %d times, want 2", calls)
	}
	if strings.HasSuffix(e.Endpoint(), fmt.Sprintf(":%d", busyPort)) {
		t.Errorf("emulator claims the busy port: %s", e.Endpoint())
	}
}

func TestNotInstalled(t *testing.T) {
	_, err := Start(context.Background(), Options{MainJS: "/nonexistent"})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Start with a missing main.js: %v, want ErrNotInstalled", err)
	}
	if !strings.Contains(err.Error(), "make emulator") {
		t.Errorf("error does not say how to install: %v", err)
	}

	t.Setenv(EnvMainJS, "/nonexistent/main.js")
	if _, err := Start(context.Background(), Options{}); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Start with $%s missing: %v, want ErrNotInstalled", EnvMainJS, err)
	}
}

func TestInvalidStreams(t *testing.T) {
	for _, streams := range []map[string]int{{"a,b": 1}, {"a:b": 1}, {"": 1}, {"ok": 0}} {
		_, err := Start(context.Background(), Options{MainJS: "/nonexistent", Streams: streams})
		if err == nil || errors.Is(err, ErrNotInstalled) {
			t.Errorf("Start(%v): %v, want an invalid-stream error", streams, err)
		}
	}
}

// TestStartErrorQuotesOutput checks that failed starts end promptly and
// pass on the emulator's own explanation.
func TestStartErrorQuotesOutput(t *testing.T) {
	t.Parallel()
	requireInstalled(t)
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"bad setting", Options{Env: []string{"CREATE_STREAM_DURATION=bogus"}}, "CREATE_STREAM_DURATION"},
		{"stream over shard limit", Options{Streams: map[string]int{"ok": 1, "big": 60}}, "shard limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			e, err := Start(context.Background(), tc.opts)
			if err == nil {
				e.Close()
				t.Fatal("Start succeeded")
			}
			if errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not quote the emulator's complaint (%q): %v", tc.want, err)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("failed start took %v", d)
			}
		})
	}
}

// TestEmulatorDiesWithParent kills a process that started an emulator and
// checks the emulator goes with it.
func TestEmulatorDiesWithParent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("parent-death signal is Linux only")
	}
	t.Parallel()
	requireInstalled(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "GOKPL_KINESISMOCK_HELPER=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("helper did not report its endpoint: %v", err)
	}
	endpoint := strings.TrimSpace(strings.TrimPrefix(line, "endpoint "))
	if _, err := url.Parse(endpoint); err != nil || !strings.HasPrefix(line, "endpoint ") {
		t.Fatalf("helper said %q", line)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	assertNotAnswering(t, endpoint, 5*time.Second)
}

// TestHelperProcess is the body of the process TestEmulatorDiesWithParent
// kills; it does nothing in a normal test run.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("GOKPL_KINESISMOCK_HELPER") != "1" {
		return
	}
	e, err := Start(context.Background(), Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("endpoint %s\n", e.Endpoint())
	<-e.Done()
	os.Exit(1)
}

func TestEmulatorEnv(t *testing.T) {
	inherited := []string{"PATH=/bin", "AWS_REGION=eu-west-1", "INITIALIZE_STREAMS=x:1", "SHOULD_PERSIST_DATA=true"}
	env := emulatorEnv(inherited, 1000, 1001, "/x/main.js", Options{
		Streams: map[string]int{"b": 2, "a": 1},
		Env:     []string{"LOG_LEVEL=DEBUG", "KINESIS_MOCK_PLAIN_PORT=5", "SPLIT_SHARD_DURATION=1ms"},
	})
	final := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		final[k] = v // last one wins, as in exec.Cmd
	}
	want := map[string]string{
		"PATH":                    "/bin",
		"AWS_REGION":              "us-east-1",
		"INITIALIZE_STREAMS":      "a:1,b:2",
		"SHOULD_PERSIST_DATA":     "false",
		"LOG_LEVEL":               "DEBUG",
		"SPLIT_SHARD_DURATION":    "1ms",
		"CREATE_STREAM_DURATION":  "0ms",
		"KINESIS_MOCK_PLAIN_PORT": "1000",
		"KINESIS_MOCK_TLS_PORT":   "1001",
		"KINESIS_MOCK_CERT_PATH":  "/x/server.json",
	}
	for k, v := range want {
		if final[k] != v {
			t.Errorf("%s=%q, want %q", k, final[k], v)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(8)
	for _, s := range []string{"abc", "defgh", "ij"} {
		b.Write([]byte(s))
	}
	if got, cut := b.Tail(0); got != "cdefghij" || !cut {
		t.Errorf("Tail(0) = %q, %v", got, cut)
	}
	if got, _ := b.Tail(3); got != "hij" {
		t.Errorf("Tail(3) = %q", got)
	}
	b.Write([]byte("0123456789"))
	if got, _ := b.Tail(0); got != "23456789" {
		t.Errorf("after a long write Tail(0) = %q", got)
	}
	small := newTailBuffer(8)
	small.Write([]byte("xy"))
	if got, cut := small.Tail(0); got != "xy" || cut {
		t.Errorf("uncut Tail(0) = %q, %v", got, cut)
	}
}

func countShards(ctx context.Context, t *testing.T, c *kinesis.Client, stream string) int {
	t.Helper()
	var ids []string
	in := &kinesis.ListShardsInput{StreamName: aws.String(stream)}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			t.Fatalf("ListShards(%s): %v", stream, err)
		}
		for _, s := range out.Shards {
			ids = append(ids, aws.ToString(s.ShardId))
		}
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	slices.Sort(ids)
	return len(slices.Compact(ids))
}

// assertNotAnswering fails unless connecting to endpoint's port is refused
// within wait.
func assertNotAnswering(t *testing.T, endpoint string, wait time.Duration) {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("tcp", u.Host, 200*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still answers", endpoint)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireInstalled skips (or under CI fails) a test that needs the
// emulator when it is not installed, as Require does.
func requireInstalled(t *testing.T) {
	t.Helper()
	_, err := resolveMainJS("")
	if err == nil {
		_, err = exec.LookPath("node")
		if err != nil {
			err = fmt.Errorf("%w: %v", ErrNotInstalled, err)
		}
	}
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(err)
	}
	t.Skipf("SKIPPED: KINESIS EMULATOR NOT INSTALLED, this test did not run. %v", err)
}
