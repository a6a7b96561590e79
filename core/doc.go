// Package core is gokpl's Kinesis producer engine: the Amazon Kinesis
// Producer Library's pipeline (aggregation, per-shard batching, rate
// limiting, retries, one result per record with its attempts) on
// aws-sdk-go-v2, usable from Go on its own. gokpl's C library and Python
// package are built on it.
//
// # Producing
//
// A Producer is made from a Config and puts records to any number of
// streams:
//
//	cfg := core.DefaultConfig()
//	cfg.Region = "us-east-1"
//	p, err := core.New(ctx, cfg)
//	if err != nil {
//		return err
//	}
//	defer p.Close(context.Background())
//
//	outcome, err := p.Put(ctx, core.Record{Stream: "events", PartitionKey: "user-1", Data: data})
//	if err != nil {
//		return err // an invalid record, a closed producer, or backpressure until ctx ended
//	}
//	result, err := outcome.Wait(ctx)
//	if err == nil {
//		err = result.Err() // nil once the record is written
//	}
//
// Put returns as soon as the record is buffered; the Outcome resolves
// exactly once, when the record is written (RecordResult.Success, with its shard
// and sequence number) or has failed for good (RecordResult.ErrorCode and
// ErrorMessage, the service's exception name or one of the Code constants).
// A failed record is a RecordResult, not an error: Wait returns an error only
// when its ctx ends or the outcome was cancelled. Every RecordResult lists the
// record's attempts, and RecordResult.Err gives a failure as a *RecordError,
// which errors.Is matches against ErrExpired, ErrClosed and ErrThrottled.
//
// Config's fields are the KPL's options; each documents its unit, default
// and range, and ParseConfigJSON reads them by their options.json names.
// Without WithClient, New builds an SDK client with the SDK's default
// credential chain unless the Config holds static keys.
//
// # The put path
//
// Each stream has its own pipeline, made on its first put. Put validates the
// record against the service's limits, takes room in the producer's budget
// (MaxOutstandingRecords, MaxOutstandingBytes) and queues the record on the
// stream's intake, which the pipeline's goroutine drains in batches. There
// the record is hashed (the MD5 of its partition key, unless it has an
// explicit hash key), waits for the stream's first shard map while it
// loads, and is aggregated with the other records predicted for its shard
// into one Kinesis record in the KPL's format. Aggregated records pass a
// per-shard rate limiter and are collected into PutRecords requests, which
// a fixed pool of MaxConnections goroutines sends. Each entry of the answer
// is classified once: success resolves the record; throttling and
// transient errors send it back through the pipeline after a jittered
// backoff, until RecordTTL; errors retrying cannot fix fail it at once.
// Records leave each buffer when it is full or by their deadline
// (RecordMaxBufferedTime after the put).
//
// # Concurrency
//
// A Producer and its Outcomes are safe for concurrent use by any number of
// goroutines. Put never runs the pipeline on the caller's goroutine and
// blocks only while the budget is full. Flush, Close, Outcome.Wait and a
// Put under backpressure block until done or until their context ends.
// Functions given to Outcome.OnDone run on the goroutine that resolves or
// cancels the outcome, after its Done channel is closed, and must not block.
//
// # Flushing and closing
//
// Flush sends everything buffered and waits for exactly the records put
// before it, while other goroutines keep putting; BeginFlush does the same
// without waiting, returning a FlushTicket. Close flushes within its
// context, then resolves every record still open as a failure with
// CodeProducerClosed and stops the producer's goroutines; Put after Close
// returns ErrClosed.
//
// # Backpressure
//
// A Put that finds MaxOutstandingRecords records, or MaxOutstandingBytes
// bytes, put and not yet resolved waits for room until its context ends,
// and then fails with an error wrapping ErrBackpressure. A Put with an
// already ended context takes room only if there is some, and never waits.
//
// # Testing
//
// Package kinesistest runs a fake Kinesis endpoint in the process, with
// fault injection and a way to read back what was written; point
// Config.EndpointURL at its URL, as the examples do. Deaggregate reads the
// user records out of an aggregated Kinesis record.
package core
