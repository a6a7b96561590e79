// Package kinesistest runs an in-process fake Amazon Kinesis Data Streams
// endpoint for tests and benchmarks.
//
// The server speaks the AWS JSON 1.1 protocol that the AWS SDKs use for
// Kinesis (POST / with an X-Amz-Target header naming the operation), so an
// unmodified aws-sdk-go-v2 or boto3 client works against it once its
// endpoint is pointed at [Server.URL]. Request signatures are not checked.
//
// Streams are split into shards over the 128-bit hash key space as the
// service does it, records are routed by explicit hash key or by the MD5 of
// the partition key, and every accepted record can be read back, either
// through GetShardIterator and GetRecords or directly with [Server.Records].
// Streams are addressed by name or by ARN ([Server.StreamARN]).
//
// Requests are held to the service's limits and answered with its error
// types, so a producer that sends what Kinesis would reject fails here too:
// a record's data plus partition key may not exceed its stream's maximum
// record size (1024 KiB unless set otherwise, up to 10240 KiB, with
// [Options].StreamMaxRecordSizeKiB, [WithMaxRecordSizeKiB], CreateStream's
// MaxRecordSizeInKiB or UpdateMaxRecordSize), a PutRecords request holds 1
// to 500 records of at most 10 MiB in all, and partition keys, explicit
// hash keys, stream names and ARNs must have the service's form. A request
// that breaks a limit is rejected as a whole with HTTP 400 and
// ValidationException or InvalidArgumentException, and nothing of it is
// stored.
//
// Faults are injected per request: scripted for the next requests with
// [Server.InjectFault] or [Server.ScheduleFault], standing until cleared
// with [Server.ScheduleFault] (which can also fail a fraction of the
// entries written, or wait for a request with a given partition key), or
// decided by a rule installed with [Server.SetFaultFunc]; see [Fault] for
// what a fault can do.
package kinesistest
