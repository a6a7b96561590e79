"""A fake Kinesis endpoint for your own tests.

    from gokpl import SyncProducer
    from gokpl.testing import FakeKinesis

    with FakeKinesis({"orders": 4}) as kinesis:
        with SyncProducer(kinesis.config()) as producer:
            producer.put_record(stream="orders", partition_key="k", data=b"x").wait(timeout=5)
        assert [r.data for r in kinesis.records("orders")] == [b"x"]

FakeKinesis runs the fake endpoint that ships with the package (the
``kinesistest`` program in the gokpl package) as a child process on a free
loopback port. It speaks the Kinesis API that the AWS SDKs use, so gokpl,
boto3 and the AWS CLI all work against it; its control API injects faults
and reads back what was written, de-aggregated here into user records.

``python -m gokpl.testing serve --stream NAME:SHARDS[:MAXKIB]`` runs it in
the foreground for any client. See docs/testing.md.

Nothing here loads gokpl's shared library; :meth:`FakeKinesis.config` only
builds a Config.
"""

# The fake's fixed identity, as module constants (not in __all__, as before
# the module became a package): the region, account and credentials it
# accepts and reports.
from ._control import ACCESS_KEY_ID as ACCESS_KEY_ID
from ._control import ACCOUNT_ID as ACCOUNT_ID
from ._control import (
    INTERNAL_FAILURE,
    SERVICE_UNAVAILABLE,
    THROTTLED,
    FakeKinesisError,
    Shard,
    StoredRecord,
    StreamStats,
    hash_key_of,
)
from ._control import REGION as REGION
from ._control import SECRET_ACCESS_KEY as SECRET_ACCESS_KEY
from ._deaggregation import UserRecord, deaggregate, is_aggregated
from ._fake import FakeKinesis
from ._serve import main

__all__ = [
    "INTERNAL_FAILURE",
    "SERVICE_UNAVAILABLE",
    "THROTTLED",
    "FakeKinesis",
    "FakeKinesisError",
    "Shard",
    "StoredRecord",
    "StreamStats",
    "UserRecord",
    "deaggregate",
    "hash_key_of",
    "is_aggregated",
    "main",
]
