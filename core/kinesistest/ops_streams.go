package kinesistest

// Stream management operations: CreateStream, DeleteStream, DescribeStream,
// DescribeStreamSummary, ListStreams and UpdateMaxRecordSize.

const (
	defaultOnDemandShards  = 4
	retentionPeriodHours   = 24
	defaultDescribeLimit   = 100
	defaultListStreamLimit = 100
	encryptionNone         = "NONE"
)

// describe names the referenced stream for fault rules; input types that
// embed streamRef inherit it.
func (ref streamRef) describe(s *Server, req *Request) {
	req.StreamName, _ = s.resolveName(ref)
}

type createStreamInput struct {
	StreamName         string
	ShardCount         *int
	StreamModeDetails  *streamModeDetailsJSON
	MaxRecordSizeInKiB *int
}

func (in *createStreamInput) describe(_ *Server, req *Request) {
	req.StreamName = in.StreamName
}

func (in *createStreamInput) apply(s *Server, _ *Fault) (any, *apiError) {
	mode := modeProvisioned
	if in.StreamModeDetails != nil {
		mode = in.StreamModeDetails.StreamMode
	}
	if mode != modeProvisioned && mode != modeOnDemand {
		return nil, validationError("1 validation error detected: Value '%s' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]", mode)
	}
	shards := defaultOnDemandShards
	switch {
	case in.ShardCount != nil:
		shards = *in.ShardCount
	case mode == modeProvisioned:
		return nil, invalidArgument("ShardCount is required for a stream in PROVISIONED mode.")
	}
	spec := streamSpec{shards: shards, mode: mode, delay: s.opts.CreateDelay}
	if in.MaxRecordSizeInKiB != nil {
		if err := validateMaxRecordSizeKiB(*in.MaxRecordSizeInKiB); err != nil {
			return nil, err
		}
		spec.maxRecordSizeKiB = *in.MaxRecordSizeInKiB
	}
	if err := s.addStream(in.StreamName, spec); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type deleteStreamInput struct {
	streamRef
	EnforceConsumerDeletion bool
}

func (in *deleteStreamInput) apply(s *Server, _ *Fault) (any, *apiError) {
	name, err := s.resolveName(in.streamRef)
	if err != nil {
		return nil, err
	}
	if err := s.removeStream(name); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type streamSummaryJSON struct {
	StreamName              string
	StreamARN               string
	StreamStatus            string
	StreamModeDetails       streamModeDetailsJSON
	RetentionPeriodHours    int
	StreamCreationTimestamp epochTime
	EnhancedMonitoring      []enhancedMetricsJSON
	EncryptionType          string
	OpenShardCount          int
	ConsumerCount           int
	MaxRecordSizeInKiB      int
}

type describeStreamSummaryInput struct {
	streamRef
}

func (in *describeStreamSummaryInput) apply(s *Server, _ *Fault) (any, *apiError) {
	st, err := s.lookup(in.streamRef)
	if err != nil {
		return nil, err
	}
	return struct{ StreamDescriptionSummary streamSummaryJSON }{streamSummaryJSON{
		StreamName:              st.name,
		StreamARN:               st.arn,
		StreamStatus:            st.status(s.now()),
		StreamModeDetails:       streamModeDetailsJSON{StreamMode: st.mode},
		RetentionPeriodHours:    retentionPeriodHours,
		StreamCreationTimestamp: epochTime(st.created),
		EnhancedMonitoring:      noEnhancedMonitoring,
		EncryptionType:          encryptionNone,
		OpenShardCount:          st.openShardCount(),
		MaxRecordSizeInKiB:      int(st.maxRecordSizeKiB.Load()),
	}}, nil
}

type streamDescriptionJSON struct {
	StreamName              string
	StreamARN               string
	StreamStatus            string
	StreamModeDetails       streamModeDetailsJSON
	Shards                  []shardJSON
	HasMoreShards           bool
	RetentionPeriodHours    int
	StreamCreationTimestamp epochTime
	EnhancedMonitoring      []enhancedMetricsJSON
	EncryptionType          string
}

type describeStreamInput struct {
	streamRef
	Limit                 *int
	ExclusiveStartShardId string
}

func (in *describeStreamInput) apply(s *Server, _ *Fault) (any, *apiError) {
	limit, err := validateLimit("limit", in.Limit, defaultDescribeLimit, maxListLimit)
	if err != nil {
		return nil, err
	}
	st, err := s.lookup(in.streamRef)
	if err != nil {
		return nil, err
	}
	shards, more := st.listShards(shardListing{after: in.ExclusiveStartShardId, limit: limit})
	return struct{ StreamDescription streamDescriptionJSON }{streamDescriptionJSON{
		StreamName:              st.name,
		StreamARN:               st.arn,
		StreamStatus:            st.status(s.now()),
		StreamModeDetails:       streamModeDetailsJSON{StreamMode: st.mode},
		Shards:                  shards,
		HasMoreShards:           more,
		RetentionPeriodHours:    retentionPeriodHours,
		StreamCreationTimestamp: epochTime(st.created),
		EnhancedMonitoring:      noEnhancedMonitoring,
		EncryptionType:          encryptionNone,
	}}, nil
}

type listStreamsInput struct {
	Limit                    *int
	ExclusiveStartStreamName string
	NextToken                string
}

func (in *listStreamsInput) describe(*Server, *Request) {}

type streamSummaryEntryJSON struct {
	StreamName              string
	StreamARN               string
	StreamStatus            string
	StreamModeDetails       streamModeDetailsJSON
	StreamCreationTimestamp epochTime
}

type listStreamsOutput struct {
	StreamNames     []string
	HasMoreStreams  bool
	NextToken       string `json:",omitempty"`
	StreamSummaries []streamSummaryEntryJSON
}

func (in *listStreamsInput) apply(s *Server, _ *Fault) (any, *apiError) {
	limit, err := validateLimit("limit", in.Limit, defaultListStreamLimit, maxListLimit)
	if err != nil {
		return nil, err
	}
	after := in.ExclusiveStartStreamName
	if in.NextToken != "" {
		var token listStreamsToken
		if !decodeToken(in.NextToken, &token) {
			return nil, invalidArgument("Invalid NextToken.")
		}
		after = token.After
	}
	now := s.now()
	out := listStreamsOutput{StreamNames: []string{}, StreamSummaries: []streamSummaryEntryJSON{}}
	for _, st := range s.sortedStreams() {
		if st.name <= after {
			continue
		}
		if len(out.StreamNames) == limit {
			out.HasMoreStreams = true
			out.NextToken = encodeToken(listStreamsToken{After: out.StreamNames[limit-1]})
			break
		}
		out.StreamNames = append(out.StreamNames, st.name)
		out.StreamSummaries = append(out.StreamSummaries, streamSummaryEntryJSON{
			StreamName:              st.name,
			StreamARN:               st.arn,
			StreamStatus:            st.status(now),
			StreamModeDetails:       streamModeDetailsJSON{StreamMode: st.mode},
			StreamCreationTimestamp: epochTime(st.created),
		})
	}
	return out, nil
}

type updateMaxRecordSizeInput struct {
	StreamARN          string
	StreamId           string
	MaxRecordSizeInKiB *int
}

func (in *updateMaxRecordSizeInput) describe(s *Server, req *Request) {
	streamRef{StreamARN: in.StreamARN}.describe(s, req)
}

func (in *updateMaxRecordSizeInput) apply(s *Server, _ *Fault) (any, *apiError) {
	if in.MaxRecordSizeInKiB == nil {
		return nil, constraintError("null", "maxRecordSizeInKiB", "not be null")
	}
	if err := validateMaxRecordSizeKiB(*in.MaxRecordSizeInKiB); err != nil {
		return nil, err
	}
	if in.StreamARN == "" {
		return nil, invalidArgument("StreamARN must be provided.")
	}
	st, err := s.lookupActive(streamRef{StreamARN: in.StreamARN})
	if err != nil {
		return nil, err
	}
	st.setMaxRecordSizeKiB(*in.MaxRecordSizeInKiB)
	return struct{}{}, nil
}
