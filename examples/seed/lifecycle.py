from gokpl import Config, SyncProducer

cfg = Config(region="us-east-1", record_max_buffered_time_ms=100)
with SyncProducer(cfg) as producer:
    outcome = producer.put_record(
        stream="my-stream",
        partition_key="user-123",
        data=b"hello",
    )
    result = outcome.wait(timeout=5.0)
    if result.success:
        print(result.shard_id, result.sequence_number)
