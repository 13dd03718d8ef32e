import pytest

from aistrale_common.events import topic_matches


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("usage.v1.*", "usage.v1.org", True),
        ("usage.v1.*", "usage.v1.org.x", False),
        ("usage.#", "usage", True),
        ("usage.#", "usage.v1.org", True),
        ("#", "anything.at.all", True),
        ("#.revoked", "key.revoked", True),
        ("key.*", "budget.updated", False),
        ("a.#.z", "a.z", True),
        ("a.#.z", "a.b.c.z", True),
        ("a.#.z", "a.b.c", False),
    ],
)
def test_topic_semantics(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected
