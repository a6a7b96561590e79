package core

import "sync/atomic"

// Stats is a snapshot of a producer's counters since it started. The KPL's
// metrics with dimensions, windows and CloudWatch upload build on these.
type Stats struct {
	RecordsPut         int64 // user records accepted by Put
	RecordsSucceeded   int64 // resolved with success
	RecordsFailed      int64 // resolved with failure (including expired and closed)
	RecordsCancelled   int64 // withdrawn or resolved locally by Cancel
	RecordsRetried     int64 // attempts that sent a record back into the pipeline
	KinesisRecordsSent int64 // PutRecords entries sent, aggregated or not
	Requests           int64 // PutRecords requests completed
	RequestErrors      int64 // PutRecords requests that failed as a whole
	RequestsThrottled  int64 // requests throttled as a whole or in at least one entry
	OutstandingRecords int64 // put and not yet resolved
	OutstandingBytes   int64 // bytes counted against max_outstanding_bytes: the memory of the records put and not yet resolved (budgetBytes), their retry histories and the request bodies in flight
}

// counters are the producer's live counters, updated with atomics.
type counters struct {
	recordsPut, recordsSucceeded, recordsFailed, recordsCancelled, recordsRetried atomic.Int64
	kinesisRecordsSent, requests, requestErrors, requestsThrottled                atomic.Int64
}

// Stats returns a snapshot of the producer's counters. Safe for concurrent use.
func (p *Producer) Stats() Stats {
	c := &p.counters
	return Stats{
		RecordsPut:         c.recordsPut.Load(),
		RecordsSucceeded:   c.recordsSucceeded.Load(),
		RecordsFailed:      c.recordsFailed.Load(),
		RecordsCancelled:   c.recordsCancelled.Load(),
		RecordsRetried:     c.recordsRetried.Load(),
		KinesisRecordsSent: c.kinesisRecordsSent.Load(),
		Requests:           c.requests.Load(),
		RequestErrors:      c.requestErrors.Load(),
		RequestsThrottled:  c.requestsThrottled.Load(),
		OutstandingRecords: p.budget.outstanding(),
		OutstandingBytes:   p.budget.outstandingBytes(),
	}
}
