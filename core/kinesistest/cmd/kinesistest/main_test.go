package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// runAsCommand makes the test binary act as the kinesistest command, so
// the tests exercise the real process: its output, signals and stdin.
const runAsCommand = "KINESISTEST_RUN_AS_COMMAND"

func TestMain(m *testing.M) {
	if os.Getenv(runAsCommand) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// command is a running kinesistest process.
type command struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	endpoint string
}

func startCommand(t *testing.T, args ...string) *command {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	// Under -race, skip the race runtime's one-second pause at exit.
	cmd.Env = append(os.Environ(), runAsCommand+"=1", "GORACE=atexit_sleep_ms=0")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(10 * time.Second):
		t.Fatal("no endpoint line within 10s")
	}
	var announced struct {
		EndpointURL string `json:"endpoint_url"`
	}
	if err := json.Unmarshal([]byte(line), &announced); err != nil || !strings.HasPrefix(announced.EndpointURL, "http://127.0.0.1:") {
		t.Fatalf("first line %q: %v", line, err)
	}
	return &command{cmd: cmd, stdin: stdin, endpoint: announced.EndpointURL}
}

// waitExit waits for the process and returns its exit code.
func (c *command) waitExit(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
		return c.cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatal("process did not exit within 10s")
		return -1
	}
}

func TestCommandServesUntilStdinCloses(t *testing.T) {
	c := startCommand(t, "--addr", "127.0.0.1:0", "--stream", "orders:2", "--stream", "audit:1")
	client := kinesis.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("k", "s", ""),
		BaseEndpoint: aws.String(c.endpoint),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("orders")})
	if err != nil || len(shards.Shards) != 2 {
		t.Fatalf("ListShards: %v, %+v", err, shards)
	}
	streams, err := client.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil || strings.Join(streams.StreamNames, ",") != "audit,orders" {
		t.Fatalf("ListStreams: %v, %+v", err, streams)
	}
	if _, err := client.PutRecord(ctx, &kinesis.PutRecordInput{
		StreamName: aws.String("orders"), PartitionKey: aws.String("k"), Data: []byte("v"),
	}); err != nil {
		t.Fatalf("PutRecord: %v", err)
	}

	if err := c.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if code := c.waitExit(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

func TestCommandStopsOnSIGTERM(t *testing.T) {
	c := startCommand(t, "--exit-on-stdin-eof=false")
	if err := c.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // still serving despite the closed stdin
	if c.cmd.ProcessState != nil {
		t.Fatal("process exited at end of stdin")
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := c.waitExit(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--stream", "orders"},
		{"--stream", "orders:0"},
		{"--stream", "a:1", "--stream", "a:2"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if code != 2 || stdout.Len() != 0 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout.String(), stderr.String())
		}
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stdinReader, stdinWriter := io.Pipe()
	defer stdinWriter.Close()
	var stdout bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--stream", "s:1"}, stdinReader, &stdout, io.Discard) }()
	cancel()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(stdout.String(), `"endpoint_url":"http://127.0.0.1:`) {
			t.Errorf("exit %d, stdout %q", code, stdout.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
}
