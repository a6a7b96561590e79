package core

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/gokpl/gokpl/core/kinesistest"
)

// A request the service answered keeps its connection, however late the
// goroutine writing the request gets to the end of its body. The
// connections here hold that goroutine back after each write, as a busy
// machine's scheduler may, and hand the answer over slowly, so the writer
// finishes while the answer is still being read. Every request must
// succeed, and all of them share one connection.
func TestAnsweredRequestsKeepTheirConnection(t *testing.T) {
	srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 1}})
	defer srv.Close()
	client := testKinesisClient(t, srv.URL)
	defer client.CloseIdleConnections()
	dials := slowConnections(client.transport, 30*time.Millisecond, 512, time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 3 {
		out, err := client.PutRecords(ctx, bigPutRecordsInput("s", 500))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if n := aws.ToInt32(out.FailedRecordCount); n != 0 || len(out.Records) != 500 {
			t.Fatalf("request %d: %d entries answered, %d failed", i, len(out.Records), n)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("3 answered requests took %d connections, want 1", n)
	}
	if n := len(srv.Records("s")); n != 1500 {
		t.Errorf("stored %d records, want 1500", n)
	}
}

// testKinesisClient is the producer's client for endpoint, with static
// credentials.
func testKinesisClient(t *testing.T, endpoint string) *KinesisClient {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Region, cfg.EndpointURL = "us-east-1", endpoint
	cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = "test", "test"
	client, err := NewKinesisClient(context.Background(), &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// bigPutRecordsInput is a request of n entries whose body (about 110 bytes
// an entry) is written to the connection in several large writes.
func bigPutRecordsInput(stream string, n int) *kinesis.PutRecordsInput {
	in := &kinesis.PutRecordsInput{StreamName: aws.String(stream)}
	for i := range n {
		in.Records = append(in.Records, types.PutRecordsRequestEntry{
			PartitionKey: aws.String(fmt.Sprintf("key-%d", i)),
			Data:         []byte(fmt.Sprintf("%06d%s", i, strings.Repeat("x", 54))),
		})
	}
	return in
}

// slowConnections makes transport dial connections that pause for
// writePause after each write and read at most readSize bytes at a time,
// each read after readPause. It returns the count of connections dialled.
func slowConnections(transport *http.Transport, writePause time.Duration, readSize int, readPause time.Duration) *atomic.Int64 {
	var dials atomic.Int64
	dial := transport.DialContext
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		dials.Add(1)
		return &slowConn{Conn: conn, writePause: writePause, readSize: readSize, readPause: readPause}, nil
	}
	return &dials
}

type slowConn struct {
	net.Conn
	writePause time.Duration
	readSize   int
	readPause  time.Duration
}

func (c *slowConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	time.Sleep(c.writePause)
	return n, err
}

func (c *slowConn) Read(p []byte) (int, error) {
	time.Sleep(c.readPause)
	return c.Conn.Read(p[:min(len(p), c.readSize)])
}
