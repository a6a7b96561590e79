package kinesistest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The control API lets tests in other processes, which run the server as
// the kinesistest command, do what Go tests do with Server methods. It
// lives under ControlPathPrefix, apart from the Kinesis API at "/":
//
//	POST   /_kinesistest/faults                  inject a fault (ControlFault as JSON)
//	DELETE /_kinesistest/faults                  clear all faults
//	GET    /_kinesistest/requests                request counts by operation
//	POST   /_kinesistest/streams                 {"StreamName": ..., "ShardCount": ..., "MaxRecordSizeInKiB": ...}: create an ACTIVE stream
//	DELETE /_kinesistest/streams/{name}          delete a stream
//	GET    /_kinesistest/streams/{name}/records  stored records, Data in base64
//	GET    /_kinesistest/streams/{name}/shards   shard layout
//	GET    /_kinesistest/streams/{name}/stats    record counts
//	POST   /_kinesistest/streams/{name}/split    {"ShardId": ..., "NewStartingHashKey": ...}
//	POST   /_kinesistest/streams/{name}/merge    {"ShardId": ..., "AdjacentShardId": ...}
//
// Failures answer with a status and {"message": ...}.

// ControlPathPrefix starts every control API path.
const ControlPathPrefix = "/_kinesistest/"

// ControlFault is the JSON body of POST /_kinesistest/faults: a Fault for
// requests of Operation ("" for any), with the delay in milliseconds,
// scheduled as Times, EntryFailureRate, EntryErrorCode and PartitionKey say
// (see FaultSchedule; by default it applies to the next request only).
type ControlFault struct {
	Operation            string
	DelayMillis          int64
	StatusCode           int
	ErrorType            string
	Message              string
	ResetConnection      bool
	Applied              bool
	RecordFailures       []RecordFailure
	ResponseRecordsDelta int
	Times                int
	EntryFailureRate     float64
	EntryErrorCode       string
	PartitionKey         string
}

// check says what would make c a fault that never acts as asked, or "":
// an operation the server does not answer, a status that is not an
// error's, a message or an entry error code without what it goes with.
func (c *ControlFault) check() string {
	switch {
	case c.Operation != "" && operations[c.Operation] == nil:
		return fmt.Sprintf("Operation %q is not one the server answers", c.Operation)
	case c.StatusCode != 0 && (c.StatusCode < 400 || c.StatusCode > 599):
		return fmt.Sprintf("StatusCode must be an error's, 400 to 599, got %d", c.StatusCode)
	case c.Message != "" && c.StatusCode == 0 && c.ErrorType == "":
		return "Message needs ErrorType or StatusCode: it is an error response's message"
	case !(c.EntryFailureRate >= 0 && c.EntryFailureRate <= 1):
		return "EntryFailureRate must be in [0, 1]"
	case c.EntryErrorCode != "" && c.EntryFailureRate == 0:
		return "EntryErrorCode needs EntryFailureRate"
	case c.DelayMillis < 0:
		return "DelayMillis must not be negative"
	}
	return ""
}

func (c *ControlFault) fault() Fault {
	return Fault{
		Delay:                time.Duration(c.DelayMillis) * time.Millisecond,
		StatusCode:           c.StatusCode,
		ErrorType:            c.ErrorType,
		Message:              c.Message,
		ResetConnection:      c.ResetConnection,
		Applied:              c.Applied,
		RecordFailures:       c.RecordFailures,
		ResponseRecordsDelta: c.ResponseRecordsDelta,
	}
}

func (c *ControlFault) schedule() FaultSchedule {
	return FaultSchedule{
		Times:            c.Times,
		EntryFailureRate: c.EntryFailureRate,
		EntryErrorCode:   c.EntryErrorCode,
		PartitionKey:     c.PartitionKey,
	}
}

// newControlHandler routes the control API of s.
func newControlHandler(s *Server) http.Handler {
	mux := http.NewServeMux()
	const p = ControlPathPrefix
	mux.HandleFunc("POST "+p+"faults", func(w http.ResponseWriter, r *http.Request) {
		var c ControlFault
		if !decodeControl(w, r, &c) {
			return
		}
		if problem := c.check(); problem != "" {
			writeControlError(w, http.StatusBadRequest, problem)
			return
		}
		s.ScheduleFault(c.Operation, c.fault(), c.schedule())
		writeControl(w, struct{}{})
	})
	mux.HandleFunc("DELETE "+p+"faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearFaults()
		writeControl(w, struct{}{})
	})
	mux.HandleFunc("GET "+p+"requests", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, s.requests.snapshot())
	})
	mux.HandleFunc("POST "+p+"streams", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			StreamName         string
			ShardCount         int
			MaxRecordSizeInKiB int
		}
		if decodeControl(w, r, &req) {
			writeControlResult(w, s.CreateStream(req.StreamName, req.ShardCount, WithMaxRecordSizeKiB(req.MaxRecordSizeInKiB)))
		}
	})
	mux.HandleFunc("DELETE "+p+"streams/{name}", func(w http.ResponseWriter, r *http.Request) {
		if st := s.controlStream(w, r); st != "" {
			writeControlResult(w, s.DeleteStream(st))
		}
	})
	mux.HandleFunc("GET "+p+"streams/{name}/records", func(w http.ResponseWriter, r *http.Request) {
		if st := s.controlStream(w, r); st != "" {
			writeControl(w, struct{ Records []StoredRecord }{s.Records(st)})
		}
	})
	mux.HandleFunc("GET "+p+"streams/{name}/shards", func(w http.ResponseWriter, r *http.Request) {
		if st := s.controlStream(w, r); st != "" {
			writeControl(w, struct{ Shards []ShardInfo }{s.Shards(st)})
		}
	})
	mux.HandleFunc("GET "+p+"streams/{name}/stats", func(w http.ResponseWriter, r *http.Request) {
		if st := s.controlStream(w, r); st != "" {
			writeControl(w, s.Stats(st))
		}
	})
	mux.HandleFunc("POST "+p+"streams/{name}/split", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ShardId, NewStartingHashKey string }
		if st := s.controlStream(w, r); st != "" && decodeControl(w, r, &req) {
			writeControlResult(w, s.SplitShard(st, req.ShardId, req.NewStartingHashKey))
		}
	})
	mux.HandleFunc("POST "+p+"streams/{name}/merge", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ShardId, AdjacentShardId string }
		if st := s.controlStream(w, r); st != "" && decodeControl(w, r, &req) {
			writeControlResult(w, s.MergeShards(st, req.ShardId, req.AdjacentShardId))
		}
	})
	return mux
}

func isControlRequest(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, ControlPathPrefix)
}

// controlStream returns the stream the path names, or "" after answering
// 404 if there is none.
func (s *Server) controlStream(w http.ResponseWriter, r *http.Request) string {
	name := r.PathValue("name")
	if _, err := s.streamNamed(name); err != nil {
		writeControlError(w, http.StatusNotFound, err.message)
		return ""
	}
	return name
}

func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeControlError(w, http.StatusBadRequest, "cannot decode request: "+err.Error())
		return false
	}
	return true
}

func writeControl(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeControlResult(w http.ResponseWriter, err error) {
	if err != nil {
		writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeControl(w, struct{}{})
}

func writeControlError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{message})
}
