"""The decision cache: control events drop a user's answers (and an org event all of them),
and an answer fetched before a drop is not stored after it."""

from __future__ import annotations

import time

from aistrale_analytics.authz.control import apply
from aistrale_analytics.authz.decisions import DecisionCache
from aistrale_common.events.schemas import ControlEvent


def test_user_and_org_events_drop_answers() -> None:
    cache = DecisionCache(ttl_s=60)
    for user in ("u1", "u2"):
        cache.put((user, "o1", "usage.read", False), "allow", cache.stamp(user))
    apply(cache, ControlEvent(type="user.updated", org_id="o1", user_id="u1"))
    assert cache.get(("u1", "o1", "usage.read", False)) is None
    assert cache.get(("u2", "o1", "usage.read", False)) == "allow"
    apply(cache, ControlEvent(type="org.updated", org_id="o1"))
    assert cache.get(("u2", "o1", "usage.read", False)) is None


def test_an_answer_older_than_a_drop_is_not_stored() -> None:
    cache = DecisionCache(ttl_s=60)
    stamp = cache.stamp("u1")  # asked user-org...
    cache.drop_user("u1")  # ...the membership changed meanwhile
    cache.put(("u1", "o1", "usage.read", False), "allow", stamp)
    assert cache.get(("u1", "o1", "usage.read", False)) is None
    stamp = cache.stamp("u1")
    cache.drop_all()
    cache.put(("u1", "o1", "usage.read", False), "allow", stamp)
    assert cache.get(("u1", "o1", "usage.read", False)) is None


def test_answers_expire_and_the_cache_is_bounded() -> None:
    cache = DecisionCache(ttl_s=0.05, max_entries=3)
    for n in range(5):
        cache.put((f"u{n}", "o", "usage.read", False), "allow", cache.stamp(f"u{n}"))
    assert cache.get(("u0", "o", "usage.read", False)) is None  # evicted
    assert cache.get(("u4", "o", "usage.read", False)) == "allow"
    time.sleep(0.06)
    assert cache.get(("u4", "o", "usage.read", False)) is None
