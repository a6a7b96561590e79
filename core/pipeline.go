package core

// pipeline is one stream's chain of stages, and the only place that knows
// their order:
//
//	put → collector (PutRecords batches) → sender → retrier → finish | put again
//
// Each stage gets the next one as a function and never refers to another
// stage. A pipeline is created on a stream's first put and lives as long as
// the producer. Safe for concurrent use.
type pipeline struct {
	stream    string
	p         *Producer
	collector *collector
}

func newPipeline(p *Producer, stream string) *pipeline {
	pl := &pipeline{stream: stream, p: p}
	pl.collector = newCollector(&p.cfg, pl.send)
	return pl
}

// put takes a validated user record into the pipeline, first or again after a
// failed attempt.
func (pl *pipeline) put(u *userRecord) {
	if u.outcome.cancelled() {
		pl.p.finish(u, Result{}) // withdrawn before it was sent
		return
	}
	pl.collector.put(newSingleKinesisRecord(u))
}

// send turns a collected batch into a request, leaving out records whose
// outcome was cancelled while they waited.
func (pl *pipeline) send(batch []*kinesisRecord, _ flushReason) {
	live := batch[:0]
	for _, k := range batch {
		if k.live() {
			live = append(live, k)
			continue
		}
		for _, u := range k.records {
			pl.p.finish(u, Result{})
		}
	}
	if len(live) > 0 {
		pl.p.sender.send(&putRequest{stream: pl.stream, records: live})
	}
}

func (pl *pipeline) flush() { pl.collector.flush() }
func (pl *pipeline) close() { pl.collector.close() }
