"""The PII detector against a 2 KB prompt (`make bench` runs it after the wrk rounds):
p50 of finding every entity type, next to a baseline measured in the same run, copying the
prompt through (`bytes(text, "utf-8")` and back: what any body rewrite costs at least).
Target: detector p50 <= 1 ms. `python -m bench.pii --help`."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from aistrale_common.governance.guardrails import ALL_ENTITIES
from aistrale_router.governance.pii import find

TARGET_MS = 1.0
SENTENCE = (
    "Please summarise this support ticket for the billing team: the customer wrote on "
    "Monday that invoice 2024-118 did not match order 55123, version 1.2.3 of the app. "
)
TAIL = " Reach them at jane.doe@example.com or (415) 555-0132; card 4111 1111 1111 1111."


def prompt(size: int = 2048) -> str:
    body = (SENTENCE * (size // len(SENTENCE) + 1))[: size - len(TAIL)]
    return body + TAIL


def p50_ms(work: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pii")
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/pii.json")
    args = parser.parse_args()
    text = prompt()
    found = find(text, ALL_ENTITIES)
    assert {f.entity for f in found} == {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"}, found
    p50_ms(lambda: find(text, ALL_ENTITIES), 200)  # warm up
    baseline = p50_ms(lambda: text.encode().decode(), args.runs)
    detector = p50_ms(lambda: find(text, ALL_ENTITIES), args.runs)
    result = {
        "prompt_bytes": len(text.encode()),
        "baseline_copy_p50_ms": round(baseline, 4),
        "detector_p50_ms": round(detector, 4),
        "ratio": round(detector / baseline, 1) if baseline else None,
        "target_ms": TARGET_MS,
        "ok": detector <= TARGET_MS,
    }
    print(
        f"pii: {result['prompt_bytes']} B prompt: detector p50 {detector:.3f} ms, "
        f"copy baseline p50 {baseline:.4f} ms ({'ok' if result['ok'] else 'FAIL'} <= 1 ms)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
