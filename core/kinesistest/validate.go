package kinesistest

// Service limits on requests.
const (
	maxStreamNameLength   = 128
	maxPartitionKeyLength = 256
	maxRecordDataBytes    = 1 << 20
	maxPutRecordsEntries  = 500
	maxPutRecordsBytes    = 5 << 20
	maxListLimit          = 10000
)

func validateStreamName(name string) *apiError {
	if len(name) < 1 || len(name) > maxStreamNameLength {
		return validationError("1 validation error detected: Value '%s' at 'streamName' failed to satisfy constraint: Member must have length between 1 and %d", name, maxStreamNameLength)
	}
	for i := 0; i < len(name); i++ {
		if !isStreamNameByte(name[i]) {
			return validationError("1 validation error detected: Value '%s' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name)
		}
	}
	return nil
}

func isStreamNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// validateLimit checks an optional page size against 1..max and returns
// the size to use.
func validateLimit(field string, value *int, defaultValue, maxValue int) (int, *apiError) {
	if value == nil {
		return defaultValue, nil
	}
	if *value < 1 || *value > maxValue {
		return 0, validationError("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value between 1 and %d", *value, field, maxValue)
	}
	return *value, nil
}
