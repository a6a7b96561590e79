# Types of the extension module built from _fastpath.c.
from collections.abc import Callable
from typing import Any

from ._result import RecordResult

RELEASE_BATCH: int

class OutcomeBase:
    _handle: int
    _state: int
    _completions: Any
    _callbacks: Any
    def __init__(self, handle: int, completions: Any) -> None: ...
    def done(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> RecordResult: ...

def bind(
    outcome_class: type[OutcomeBase],
    lazy_result: Callable[[bool, Any], RecordResult],
    wait_until_done: Callable[[int, Any], None],
    raise_for: Callable[[int], None],
    check_timeout: Callable[[Any], Any],
    unavailable: Callable[[], None],
) -> None: ...
def configure(state_address: int, free_address: int, put_address: int) -> None: ...
def quick_put(producer: int, stream: bytes, partition_key: Any, data: Any, completions: Any) -> Any: ...
def forget() -> None: ...
def free_released() -> None: ...
