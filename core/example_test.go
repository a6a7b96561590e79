package core_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/core/kinesistest"
)

// Put a record and wait for its result. The producer writes to a fake
// Kinesis endpoint in the process (package kinesistest); against the
// service, leave EndpointURL and the keys unset.
func Example() {
	fake := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"events": 1}})
	defer fake.Close()

	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.EndpointURL = fake.URL
	cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = "test", "test"
	p, err := core.New(context.Background(), cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	outcome, err := p.Put(ctx, core.Record{Stream: "events", PartitionKey: "user-1", Data: []byte("hello")})
	if err != nil {
		log.Fatal(err) // an invalid record, a closed producer, or no room before ctx ended
	}
	result, err := outcome.Wait(ctx)
	if err != nil {
		log.Fatal(err) // ctx ended first; a failed record is a RecordResult, not an error
	}
	fmt.Println(result.Success, result.ShardID, len(result.Attempts()), "attempt")
	// Output: true shardId-000000000000 1 attempt
}

// A record that fails is a result, not Wait's error; RecordResult.Err gives
// the failure as a *RecordError, which errors.Is matches against ErrExpired,
// ErrClosed and ErrThrottled. Here every PutRecords call fails with a
// transient error, so the record is retried until its RecordTTL passes.
func ExampleRecordResult_Err() {
	fake := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"events": 1}})
	defer fake.Close()
	fake.ScheduleFault("PutRecords", kinesistest.ErrorFault(500, kinesistest.ErrorTypeInternalFailure, ""), kinesistest.FaultSchedule{Times: -1})

	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.EndpointURL = fake.URL
	cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = "test", "test"
	cfg.RecordTTL = 200 * time.Millisecond
	p, err := core.New(context.Background(), cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	outcome, err := p.Put(ctx, core.Record{Stream: "events", PartitionKey: "user-1", Data: []byte("hello")})
	if err != nil {
		log.Fatal(err)
	}
	result, err := outcome.Wait(ctx)
	if err == nil {
		err = result.Err()
	}
	fmt.Println(errors.Is(err, core.ErrExpired))
	var recordErr *core.RecordError
	if errors.As(err, &recordErr) {
		fmt.Println(recordErr.Code)
	}
	// The result still lists every attempt: each InternalFailure, then the
	// Expired step.
	fmt.Println("first attempt:", result.Attempts()[0].ErrorCode)
	// Output:
	// true
	// Expired
	// first attempt: InternalFailure
}

// Flush waits for the records put before it; Close flushes what is left
// within its context and resolves every outcome.
func ExampleProducer_Flush() {
	fake := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"events": 2}})
	defer fake.Close()

	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.EndpointURL = fake.URL
	cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = "test", "test"
	cfg.RecordMaxBufferedTime = time.Minute // records wait for a flush
	p, err := core.New(context.Background(), cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var outcomes []*core.Outcome
	for i := range 100 {
		outcome, err := p.Put(ctx, core.Record{Stream: "events", PartitionKey: fmt.Sprint("user-", i), Data: []byte("hello")})
		if err != nil {
			log.Fatal(err)
		}
		outcomes = append(outcomes, outcome)
	}
	fmt.Println("outstanding before the flush:", p.Outstanding())
	if err := p.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("outstanding after it:", p.Outstanding())
	written := 0
	for _, o := range outcomes {
		if r, err := o.Result(); err == nil && r.Success {
			written++
		}
	}
	fmt.Println("written:", written)

	if err := p.Close(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = p.Put(ctx, core.Record{Stream: "events", PartitionKey: "late", Data: []byte("hello")})
	fmt.Println(errors.Is(err, core.ErrClosed))
	// Output:
	// outstanding before the flush: 100
	// outstanding after it: 0
	// written: 100
	// true
}

// A producer holds at most MaxOutstandingRecords records (and
// MaxOutstandingBytes bytes) put and not yet resolved. A Put past that waits
// for room until its context ends, then fails with ErrBackpressure.
func ExampleProducer_Put_backpressure() {
	fake := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"events": 1}})
	defer fake.Close()

	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.EndpointURL = fake.URL
	cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = "test", "test"
	cfg.MaxOutstandingRecords = 1
	cfg.RecordMaxBufferedTime = time.Minute
	p, err := core.New(context.Background(), cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(context.Background())

	record := core.Record{Stream: "events", PartitionKey: "user-1", Data: []byte("hello")}
	first, err := p.Put(context.Background(), record)
	if err != nil {
		log.Fatal(err)
	}

	// The first record is buffered for a minute: no room for a second.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = p.Put(ctx, record)
	fmt.Println(errors.Is(err, core.ErrBackpressure))

	// A flush sends the first record; its room comes back once it resolves.
	if err := p.Flush(context.Background()); err != nil {
		log.Fatal(err)
	}
	result, _ := first.Result()
	fmt.Println(result.Success)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = p.Put(ctx, record)
	fmt.Println(err)
	// Output:
	// true
	// true
	// <nil>
}

// Deaggregate reads the user records out of the Kinesis records a stream
// holds, aggregated or not; here, from what the fake endpoint stored.
func ExampleDeaggregate() {
	fake := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"events": 1}})
	defer fake.Close()

	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.EndpointURL = fake.URL
	cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = "test", "test"
	p, err := core.New(context.Background(), cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range []struct{ key, data string }{{"user-1", "login"}, {"user-2", "click"}, {"user-1", "logout"}} {
		if _, err := p.Put(ctx, core.Record{Stream: "events", PartitionKey: r.key, Data: []byte(r.data)}); err != nil {
			log.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		log.Fatal(err)
	}

	var users []string
	for _, k := range fake.Records("events") {
		records, err := core.Deaggregate(k.PartitionKey, k.ExplicitHashKey, k.Data)
		if err != nil {
			log.Fatal(err)
		}
		for _, u := range records {
			users = append(users, u.PartitionKey+" "+string(u.Data))
		}
	}
	slices.Sort(users)
	fmt.Println(strings.Join(users, "\n"))
	// Output:
	// user-1 login
	// user-1 logout
	// user-2 click
}
