package kinesistest

import (
	"fmt"
	"strconv"
	"time"
)

// epochTime is a timestamp as AWS JSON carries it: seconds since the Unix
// epoch as a number, with millisecond precision.
type epochTime time.Time

func (t epochTime) MarshalJSON() ([]byte, error) {
	millis := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(millis)/1000, 'f', 3, 64), nil
}

// UnmarshalJSON accepts epoch seconds as a number or a string, or an
// RFC 3339 string.
func (t *epochTime) UnmarshalJSON(b []byte) error {
	s := string(b)
	if unquoted, err := strconv.Unquote(s); err == nil {
		if parsed, err := time.Parse(time.RFC3339Nano, unquoted); err == nil {
			*t = epochTime(parsed)
			return nil
		}
		s = unquoted
	}
	seconds, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("invalid timestamp %s", b)
	}
	*t = epochTime(time.UnixMilli(int64(seconds * 1000)))
	return nil
}

// shardJSON is the Shard structure of ListShards and DescribeStream.
type shardJSON struct {
	ShardId               string
	ParentShardId         string `json:",omitempty"`
	AdjacentParentShardId string `json:",omitempty"`
	HashKeyRange          hashKeyRangeJSON
	SequenceNumberRange   sequenceNumberRangeJSON
}

type hashKeyRangeJSON struct {
	StartingHashKey string
	EndingHashKey   string
}

type sequenceNumberRangeJSON struct {
	StartingSequenceNumber string
	EndingSequenceNumber   string `json:",omitempty"`
}

// childShardJSON is the ChildShard structure of GetRecords.
type childShardJSON struct {
	ShardId      string
	ParentShards []string
	HashKeyRange hashKeyRangeJSON
}

// streamModeDetailsJSON is the StreamModeDetails structure.
type streamModeDetailsJSON struct {
	StreamMode string
}

// enhancedMetricsJSON is the EnhancedMetrics structure; no shard-level
// metrics are ever enabled.
type enhancedMetricsJSON struct {
	ShardLevelMetrics []string
}

var noEnhancedMonitoring = []enhancedMetricsJSON{{ShardLevelMetrics: []string{}}}

func (sh *shard) hashKeyRange() hashKeyRangeJSON {
	return hashKeyRangeJSON{StartingHashKey: sh.start.String(), EndingHashKey: sh.end.String()}
}

// describeLocked returns the shard's API description; the owning stream's
// mutex must be held.
func (sh *shard) describeLocked() shardJSON {
	return shardJSON{
		ShardId:               sh.id,
		ParentShardId:         sh.parentID,
		AdjacentParentShardId: sh.adjacentParentID,
		HashKeyRange:          sh.hashKeyRange(),
		SequenceNumberRange: sequenceNumberRangeJSON{
			StartingSequenceNumber: sh.startingSequenceNumber,
			EndingSequenceNumber:   sh.endingSequenceNumber,
		},
	}
}
