package kinesistest

import "time"

// Write operations: PutRecord and PutRecords.

// preparedRecord is a validated entry with its hash key computed, ready to
// be stored.
type preparedRecord struct {
	hash            hashKey
	partitionKey    string
	explicitHashKey string
	data            []byte
}

func (r *preparedRecord) size() int {
	return len(r.data) + len(r.partitionKey)
}

// prepareRecord validates entry index of a request (-1 for PutRecord)
// against the API's field constraints and computes its hash key.
func prepareRecord(index int, partitionKey string, explicitHashKey *string, data []byte) (preparedRecord, *apiError) {
	if err := validateEntry(index, partitionKey, explicitHashKey, data); err != nil {
		return preparedRecord{}, err
	}
	r := preparedRecord{partitionKey: partitionKey, data: data}
	if explicitHashKey == nil {
		r.hash = partitionKeyHash(partitionKey)
		return r, nil
	}
	hash, ok := parseHashKey(*explicitHashKey)
	if !ok {
		return preparedRecord{}, hashKeyRangeError(*explicitHashKey)
	}
	r.hash = hash
	r.explicitHashKey = *explicitHashKey
	return r, nil
}

// putResultJSON is one entry of a PutRecords response, and the body of a
// PutRecord response.
type putResultJSON struct {
	SequenceNumber string `json:",omitempty"`
	ShardId        string `json:",omitempty"`
	ErrorCode      string `json:",omitempty"`
	ErrorMessage   string `json:",omitempty"`
}

func (r *putResultJSON) failed() bool {
	return r.ErrorCode != ""
}

// put stores records under one lock, in order, failing those that failures
// names or that exceed their shard's rate limit.
func (st *stream) put(records []preparedRecord, failures []*RecordFailure, now time.Time, account string) []putResultJSON {
	results := make([]putResultJSON, len(records))
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := range records {
		r := &records[i]
		sh := st.routeLocked(r.hash)
		switch {
		case failures != nil && failures[i] != nil:
			results[i] = recordFailureResult(failures[i], sh, st.name, account)
		case !sh.budget.take(now, r.size()):
			results[i] = recordFailureResult(&RecordFailure{}, sh, st.name, account)
		default:
			results[i] = st.appendLocked(sh, r, now)
		}
	}
	return results
}

func (st *stream) appendLocked(sh *shard, r *preparedRecord, now time.Time) putResultJSON {
	counter, sequenceNumber := st.nextSequenceNumberLocked(sh)
	sh.log.append(storedRecord{
		counter:         counter,
		sequenceNumber:  sequenceNumber,
		partitionKey:    r.partitionKey,
		explicitHashKey: r.explicitHashKey,
		data:            r.data,
		arrival:         now,
	})
	return putResultJSON{SequenceNumber: sequenceNumber, ShardId: sh.id}
}

// recordFailureResult is the response entry for a failed record, with the
// service's message for its error code unless the failure gives one.
func recordFailureResult(f *RecordFailure, sh *shard, stream, account string) putResultJSON {
	code := f.ErrorCode
	if code == "" {
		code = ErrorTypeProvisionedThroughputExceeded
	}
	message := f.ErrorMessage
	switch {
	case message != "":
	case code == ErrorTypeProvisionedThroughputExceeded:
		message = "Rate exceeded for shard " + sh.id + " in stream " + stream + " under account " + account + "."
	default:
		message = defaultErrorMessage(code)
	}
	return putResultJSON{ErrorCode: code, ErrorMessage: message}
}

// recordFailures indexes a fault's record failures by entry, or returns nil
// if there are none.
func recordFailures(f *Fault, n int) []*RecordFailure {
	if len(f.RecordFailures) == 0 {
		return nil
	}
	byIndex := make([]*RecordFailure, n)
	for i := range f.RecordFailures {
		if idx := f.RecordFailures[i].Index; idx >= 0 && idx < n {
			byIndex[idx] = &f.RecordFailures[i]
		}
	}
	return byIndex
}

type putRecordEntryJSON struct {
	Data            []byte
	PartitionKey    string
	ExplicitHashKey *string
}

func (e *putRecordEntryJSON) entry() RecordEntry {
	r := RecordEntry{PartitionKey: e.PartitionKey, Data: e.Data}
	if e.ExplicitHashKey != nil {
		r.ExplicitHashKey = *e.ExplicitHashKey
	}
	return r
}

type putRecordsInput struct {
	streamRef
	Records []putRecordEntryJSON
}

func (in *putRecordsInput) describe(s *Server, req *Request) {
	in.streamRef.describe(s, req)
	req.Records = make([]RecordEntry, len(in.Records))
	for i := range in.Records {
		req.Records[i] = in.Records[i].entry()
	}
}

type putRecordsOutput struct {
	FailedRecordCount int
	Records           []putResultJSON
	EncryptionType    string
}

func (in *putRecordsInput) apply(s *Server, f *Fault) (any, *apiError) {
	records, err := in.prepare()
	if err != nil {
		return nil, err
	}
	st, err := s.lookupForData(in.streamRef)
	if err != nil {
		return nil, err
	}
	if err := fitRecords(records, st.maxRecordBytes()); err != nil {
		return nil, err
	}
	results := st.put(records, recordFailures(f, len(records)), s.now(), s.opts.AccountID)
	out := putRecordsOutput{Records: results, EncryptionType: encryptionNone}
	for i := range results {
		if results[i].failed() {
			out.FailedRecordCount++
		}
	}
	out.Records = resizeResults(out.Records, f.ResponseRecordsDelta)
	return out, nil
}

// prepare validates the request as the service does before storing
// anything, except for what depends on the stream (see fitRecords).
func (in *putRecordsInput) prepare() ([]preparedRecord, *apiError) {
	if err := validateEntryCount(len(in.Records)); err != nil {
		return nil, err
	}
	records := make([]preparedRecord, len(in.Records))
	total := 0
	for i := range in.Records {
		e := &in.Records[i]
		r, err := prepareRecord(i, e.PartitionKey, e.ExplicitHashKey, e.Data)
		if err != nil {
			return nil, err
		}
		records[i] = r
		total += r.size()
	}
	if err := validateRequestSize(total); err != nil {
		return nil, err
	}
	return records, nil
}

// fitRecords checks every entry of a PutRecords request against its
// stream's maximum record size; one that does not fit rejects them all.
func fitRecords(records []preparedRecord, maxRecordBytes int) *apiError {
	for i := range records {
		if err := validateRecordSize(i, records[i].size(), maxRecordBytes); err != nil {
			return err
		}
	}
	return nil
}

// resizeResults applies a fault's response size change: negative drops
// entries from the end, positive repeats the last entry.
func resizeResults(results []putResultJSON, delta int) []putResultJSON {
	switch {
	case delta < 0:
		return results[:max(len(results)+delta, 0)]
	case delta > 0 && len(results) > 0:
		last := results[len(results)-1]
		for range delta {
			results = append(results, last)
		}
	}
	return results
}

type putRecordInput struct {
	streamRef
	putRecordEntryJSON
	SequenceNumberForOrdering *string
}

func (in *putRecordInput) describe(s *Server, req *Request) {
	in.streamRef.describe(s, req)
	req.Records = []RecordEntry{in.entry()}
}

type putRecordOutput struct {
	ShardId        string
	SequenceNumber string
	EncryptionType string
}

func (in *putRecordInput) apply(s *Server, f *Fault) (any, *apiError) {
	r, err := prepareRecord(-1, in.PartitionKey, in.ExplicitHashKey, in.Data)
	if err != nil {
		return nil, err
	}
	if in.SequenceNumberForOrdering != nil && !isDecimal(*in.SequenceNumberForOrdering) {
		return nil, validationError("1 validation error detected: Value '%s' at 'sequenceNumberForOrdering' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})", *in.SequenceNumberForOrdering)
	}
	st, err := s.lookupForData(in.streamRef)
	if err != nil {
		return nil, err
	}
	if err := validateRecordSize(-1, r.size(), st.maxRecordBytes()); err != nil {
		return nil, err
	}
	result := st.put([]preparedRecord{r}, recordFailures(f, 1), s.now(), s.opts.AccountID)[0]
	if result.failed() {
		return nil, &apiError{status: statusForErrorType(result.ErrorCode), code: result.ErrorCode, message: result.ErrorMessage}
	}
	return putRecordOutput{ShardId: result.ShardId, SequenceNumber: result.SequenceNumber, EncryptionType: encryptionNone}, nil
}
