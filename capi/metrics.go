package main

/*
#include "cgotypes.h"
*/
import "C"

import (
	"encoding/json"
	"time"
	"unsafe"

	"github.com/gokpl/gokpl/core"
)

// metricJSON is one series of a metrics snapshot as gokpl_producer_metrics
// writes it.
type metricJSON struct {
	Name       string            `json:"name"`
	Dimensions map[string]string `json:"dimensions"`
	Unit       string            `json:"unit"`
	Level      string            `json:"level"`
	Count      int64             `json:"count"`
	Sum        float64           `json:"sum"`
	Min        float64           `json:"min"`
	Max        float64           `json:"max"`
	Mean       float64           `json:"mean"`
}

// maxMetricsWindowMS is the longest window gokpl_producer_metrics takes.
const maxMetricsWindowMS = int64(core.MaxMetricsWindow / time.Millisecond)

// encodeMetrics is the snapshot as a JSON array ("[]" when empty).
func encodeMetrics(snapshot []core.Metric) ([]byte, error) {
	out := make([]metricJSON, len(snapshot))
	for i, m := range snapshot {
		dims := m.Dimensions
		if dims == nil {
			dims = map[string]string{}
		}
		out[i] = metricJSON{m.Name, dims, m.Unit, m.Level, m.Count, m.Sum, m.Min, m.Max, m.Mean}
	}
	return json.Marshal(out)
}

//export gokpl_producer_metrics
func gokpl_producer_metrics(producer C.gokpl_producer, windowMS C.int64_t, buf *C.char, capacity C.size_t, length *C.size_t) (status C.int32_t) {
	defer recoverPanic(&status, nil, 0)
	if length == nil || (buf == nil && capacity > 0) {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	*length = 0
	if windowMS < 0 || int64(windowMS) > maxMetricsWindowMS {
		return C.GOKPL_ERR_INVALID_ARGUMENT
	}
	entry, ok := producers.get(uint64(producer))
	if !ok {
		return C.GOKPL_ERR_INVALID_HANDLE
	}
	raw, err := encodeMetrics(entry.p.Metrics(time.Duration(windowMS) * time.Millisecond))
	if err != nil {
		return C.GOKPL_ERR_INTERNAL
	}
	*length = C.size_t(len(raw))
	if uint64(len(raw)) > uint64(capacity) {
		return C.GOKPL_ERR_BUFFER_TOO_SMALL
	}
	if len(raw) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(buf)), len(raw)), raw)
	}
	return C.GOKPL_OK
}
