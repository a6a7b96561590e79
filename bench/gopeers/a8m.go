package main

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	producer "github.com/a8m/kinesis-producer"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// a8mFlushInterval matches gokpl's default record_max_buffered_time_ms.
const a8mFlushInterval = 100 * time.Millisecond

// a8mMaxConnections matches gokpl's default max_connections.
const a8mMaxConnections = 24

// a8mProducer puts through a8m/kinesis-producer.
type a8mProducer struct {
	p        *producer.Producer
	counter  *countingPutter
	failed   atomic.Int64
	failures sync.WaitGroup
}

// openA8m starts a8m's producer on an aws-sdk-go-v2 client whose HTTP
// transport keeps as many connections as the producer sends requests at
// once. a8m has no rate limiter to raise.
func openA8m(_ context.Context, endpoint string) (library, error) {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * a8mMaxConnections
		t.MaxIdleConnsPerHost = 2 * a8mMaxConnections
	})
	client := kinesis.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:  httpClient,
	}, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(endpoint) })
	a := &a8mProducer{counter: &countingPutter{client: client}}
	a.p = producer.New(&producer.Config{
		StreamName:     streamName,
		FlushInterval:  a8mFlushInterval,
		MaxConnections: a8mMaxConnections,
		Logger:         quietLogger{},
		Client:         a.counter,
	})
	failures := a.p.NotifyFailures()
	a.failures.Add(1)
	go func() {
		defer a.failures.Done()
		for range failures {
			a.failed.Add(1)
		}
	}()
	a.p.Start()
	return a, nil
}

// put puts one record.
func (a *a8mProducer) put(key string) error {
	return a.p.Put(payload, key)
}

// finish stops the producer, which flushes; a8m reports failures only, so
// the records written are those the endpoint accepted, counted in its
// answers.
func (a *a8mProducer) finish(context.Context) (delivered, failed int64, err error) {
	a.p.Stop()
	a.failures.Wait()
	if bad := a.counter.malformed.Load(); bad > 0 {
		return 0, 0, errors.New("a8m sent aggregated records that do not parse")
	}
	return a.counter.userRecords.Load(), a.failed.Load(), nil
}

// kinesisRecords is the number of Kinesis records the endpoint accepted.
func (a *a8mProducer) kinesisRecords() int64 { return a.counter.kinesisRecords.Load() }

// countingPutter counts the Kinesis records, and the user records in them,
// that the endpoint accepted.
type countingPutter struct {
	client                      producer.Putter
	kinesisRecords, userRecords atomic.Int64
	malformed                   atomic.Int64
}

// PutRecords sends the request and counts what was accepted.
func (c *countingPutter) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	out, err := c.client.PutRecords(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	for i, entry := range out.Records {
		if entry.ErrorCode != nil || i >= len(in.Records) {
			continue
		}
		n := userRecordsIn(in.Records[i].Data)
		if n < 0 {
			c.malformed.Add(1)
			continue
		}
		c.kinesisRecords.Add(1)
		c.userRecords.Add(int64(n))
	}
	return out, nil
}

// aggregatedMagic starts every record in the KPL's aggregated format.
var aggregatedMagic = []byte{0xf3, 0x89, 0x9a, 0xc2}

// userRecordsIn counts the user records in one Kinesis record's data: one
// unless it is aggregated, -1 if it is aggregated but does not parse.
func userRecordsIn(data []byte) int {
	if len(data) < len(aggregatedMagic)+16 || string(data[:4]) != string(aggregatedMagic) {
		return 1
	}
	return countRecordFields(data[4 : len(data)-16])
}

// countRecordFields walks a protobuf AggregatedRecord and counts its
// records (field 3), or returns -1 if it does not parse.
func countRecordFields(msg []byte) int {
	n := 0
	for len(msg) > 0 {
		tag, k := binary.Uvarint(msg)
		if k <= 0 {
			return -1
		}
		msg = msg[k:]
		rest, ok := skipField(msg, tag&7)
		if !ok {
			return -1
		}
		if tag>>3 == 3 && tag&7 == 2 {
			n++
		}
		msg = rest
	}
	return n
}

// skipField skips one field's value of the given wire type.
func skipField(msg []byte, wireType uint64) ([]byte, bool) {
	switch wireType {
	case 0:
		_, k := binary.Uvarint(msg)
		return msg[max(k, 0):], k > 0
	case 1:
		return msg[min(8, len(msg)):], len(msg) >= 8
	case 2:
		size, k := binary.Uvarint(msg)
		if k <= 0 || size > uint64(len(msg)-k) {
			return nil, false
		}
		return msg[k+int(size):], true
	case 5:
		return msg[min(4, len(msg)):], len(msg) >= 4
	}
	return nil, false
}

// quietLogger drops a8m's log lines, as gokpl's are dropped.
type quietLogger struct{}

// Info drops the line.
func (quietLogger) Info(string, ...producer.LogValue) {}

// Error drops the line.
func (quietLogger) Error(string, error, ...producer.LogValue) {}
