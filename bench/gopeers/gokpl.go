package main

import (
	"context"
	"log/slog"

	"github.com/gokpl/gokpl/core"
)

// gokplProducer puts through gokpl's engine, keeping every Outcome when
// confirmed is set.
type gokplProducer struct {
	p         *core.Producer
	ctx       context.Context
	confirmed bool
	outcomes  []*core.Outcome
	sent      int64
}

// openGokplConfirmed opens gokpl keeping every record's Outcome.
func openGokplConfirmed(ctx context.Context, endpoint string) (library, error) {
	return openGokpl(ctx, endpoint, true, true)
}

// openGokplFire opens gokpl dropping the Outcomes.
func openGokplFire(ctx context.Context, endpoint string) (library, error) {
	return openGokpl(ctx, endpoint, false, true)
}

// openGokplUnaggregated opens gokpl keeping every Outcome, with aggregation
// off: every record is its own PutRecords entry, as for consumers that do
// not de-aggregate.
func openGokplUnaggregated(ctx context.Context, endpoint string) (library, error) {
	return openGokpl(ctx, endpoint, true, false)
}

// openGokpl makes a producer with the default configuration, but rate
// limits far above what the endpoint is sent.
func openGokpl(ctx context.Context, endpoint string, confirmed, aggregate bool) (library, error) {
	cfg := core.DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.EndpointURL = endpoint
	cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = "test", "test"
	cfg.RateLimitRecordsPerSecPerShard = 1e12
	cfg.RateLimitBytesPerSecPerShard = 1e15
	cfg.AggregationEnabled = aggregate
	p, err := core.New(ctx, cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	g := &gokplProducer{p: p, ctx: context.Background(), confirmed: confirmed}
	if confirmed {
		g.outcomes = make([]*core.Outcome, 0, 1<<20)
	}
	return g, nil
}

// put puts one record.
func (g *gokplProducer) put(key string) error {
	outcome, err := g.p.Put(g.ctx, core.Record{Stream: streamName, PartitionKey: key, Data: payload})
	if err == nil && g.confirmed {
		g.outcomes = append(g.outcomes, outcome)
	}
	return err
}

// finish waits for the outcomes (confirmed) or flushes, then closes.
func (g *gokplProducer) finish(ctx context.Context) (delivered, failed int64, err error) {
	if g.confirmed {
		delivered, failed, err = waitAll(ctx, g.outcomes)
		if err != nil {
			return 0, 0, err
		}
	} else if err := g.p.Flush(ctx); err != nil {
		return 0, 0, err
	}
	if err := g.p.Close(ctx); err != nil {
		return 0, 0, err
	}
	stats := g.p.Stats()
	g.sent = stats.KinesisRecordsSent
	if !g.confirmed {
		delivered, failed = stats.RecordsSucceeded, stats.RecordsFailed
	}
	return delivered, failed, nil
}

// waitAll waits for every outcome and counts successes and failures.
func waitAll(ctx context.Context, outcomes []*core.Outcome) (delivered, failed int64, err error) {
	for _, o := range outcomes {
		res, err := o.Wait(ctx)
		if err != nil {
			return delivered, failed, err
		}
		if res.Success {
			delivered++
		} else {
			failed++
		}
	}
	return delivered, failed, nil
}

// kinesisRecords is the number of Kinesis records gokpl sent.
func (g *gokplProducer) kinesisRecords() int64 { return g.sent }
