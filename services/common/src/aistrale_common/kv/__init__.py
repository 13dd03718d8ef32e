"""A small expiring key-value port: Redis in production, in process for `make run`.

Security state that must be seen by every replica within a second lives here: revoked
sessions, login throttles, seen request signatures. Both adapters pass the same contract
tests (services/common/tests/test_kv_contract.py).
"""

from aistrale_common.kv.memory import MemoryKV
from aistrale_common.kv.port import KeyValue
from aistrale_common.kv.redis import RedisKV, open_kv

__all__ = ["KeyValue", "MemoryKV", "RedisKV", "open_kv"]
