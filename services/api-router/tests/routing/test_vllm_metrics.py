"""The vLLM /metrics scanner, on bodies written by prometheus_client as vLLM's are and on
the odd lines the text format allows."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aistrale_router.routing.load import metrics_url
from aistrale_router.routing.vllm_metrics import (
    KV_USAGE,
    RUNNING,
    WAITING,
    VllmGauges,
    parse_vllm_gauges,
)

from .exposition import vllm_exposition

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def test_a_real_sized_body_gives_the_three_gauges() -> None:
    text = vllm_exposition(model=MODEL, running=5, waiting=2, kv_usage=0.41)
    assert "# HELP vllm:num_requests_running" in text  # the real format, comments and all
    assert len(text.splitlines()) > 500
    assert parse_vllm_gauges(text, MODEL) == VllmGauges(running=5, waiting=2, kv_usage=0.41)


def test_it_agrees_with_prometheus_clients_own_parser() -> None:
    text = vllm_exposition(model=MODEL, engines=3, running=4, waiting=7, kv_usage=0.6)
    values: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values.setdefault(sample.name, []).append(sample.value)
    gauges = parse_vllm_gauges(text, MODEL)
    assert gauges is not None
    assert gauges.running == sum(values[RUNNING]) == 12
    assert gauges.waiting == sum(values[WAITING]) == 21
    assert gauges.kv_usage == max(values[KV_USAGE]) == 0.6


def test_data_parallel_engines_are_summed_and_the_fullest_kv_cache_counts() -> None:
    text = "\n".join(
        [
            "# TYPE vllm:num_requests_running gauge",
            'vllm:num_requests_running{engine="0",model_name="m"} 3.0',
            'vllm:num_requests_running{engine="1",model_name="m"} 4.0',
            'vllm:num_requests_waiting{engine="0",model_name="m"} 1.0',
            'vllm:num_requests_waiting{engine="1",model_name="m"} 0.0',
            'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.2',
            'vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.9',
        ]
    )
    assert parse_vllm_gauges(text, "m") == VllmGauges(running=7, waiting=1, kv_usage=0.9)


def test_the_deployments_model_is_read_when_the_server_reports_several() -> None:
    text = "\n".join(
        [
            'vllm:num_requests_running{model_name="a"} 3',
            'vllm:num_requests_running{model_name="b"} 10',
            'vllm:num_requests_waiting{model_name="a"} 1',
            'vllm:num_requests_waiting{model_name="b"} 20',
        ]
    )
    assert parse_vllm_gauges(text, "a") == VllmGauges(running=3, waiting=1, kv_usage=None)
    assert parse_vllm_gauges(text, "b") == VllmGauges(running=10, waiting=20, kv_usage=None)
    # A name the server does not report (a LoRA adapter, an alias): the server's load.
    assert parse_vllm_gauges(text, "alias") == VllmGauges(running=13, waiting=21, kv_usage=None)
    assert parse_vllm_gauges(text) == VllmGauges(running=13, waiting=21, kv_usage=None)


def test_older_vllm_reports_gpu_cache_usage_and_the_new_name_wins_when_both_are_there() -> None:
    old = vllm_exposition(model=MODEL, kv_usage=0.7, legacy_kv_name=True)
    assert "vllm:gpu_cache_usage_perc" in old and KV_USAGE not in old
    assert parse_vllm_gauges(old, MODEL) == VllmGauges(running=3, waiting=0, kv_usage=0.7)
    both = "\n".join(
        [
            "vllm:num_requests_running 1",
            "vllm:gpu_cache_usage_perc 0.1",
            "vllm:kv_cache_usage_perc 0.99",
        ]
    )
    assert parse_vllm_gauges(both) == VllmGauges(running=1, waiting=0, kv_usage=0.99)


def test_nan_infinite_and_negative_values_are_ignored() -> None:
    text = "\n".join(
        [
            'vllm:num_requests_running{model_name="m",engine="0"} NaN',
            'vllm:num_requests_running{model_name="m",engine="1"} 2',
            'vllm:num_requests_waiting{model_name="m"} +Inf',
            'vllm:num_requests_waiting{model_name="m",engine="1"} -1',
            'vllm:kv_cache_usage_perc{model_name="m"} NaN',
        ]
    )
    assert parse_vllm_gauges(text, "m") == VllmGauges(running=2, waiting=0, kv_usage=None)


def test_missing_gauges() -> None:
    no_load = "# HELP vllm:kv_cache_usage_perc x\nvllm:kv_cache_usage_perc 0.5\n"
    assert parse_vllm_gauges(no_load) is None  # nothing to route on
    only_waiting = "vllm:num_requests_waiting 4\n"
    assert parse_vllm_gauges(only_waiting) == VllmGauges(running=0, waiting=4, kv_usage=None)
    assert parse_vllm_gauges("") is None
    assert parse_vllm_gauges('{"object": "list", "data": []}') is None
    assert parse_vllm_gauges("<html><body>502 Bad Gateway</body></html>") is None


def test_the_odd_lines_the_text_format_allows() -> None:
    text = "\r\n".join(
        [
            # first line of the body, with a timestamp
            'vllm:num_requests_running{model_name="m"} 2 1700000000000',
            # label values holding a quote, a brace, a comma and a space
            r'vllm:num_requests_running{model_name="m",path="a\"}b, c"} 3',
            # an escaped model name, and the plain one's queue
            r'vllm:num_requests_waiting{model_name="we\"ird\\name"} 5',
            'vllm:num_requests_waiting{model_name="m"} 1',
            # a longer name with the same start, a comment that looks like a sample
            'vllm:num_requests_running_total{model_name="m"} 100',
            "# vllm:num_requests_running 1000",
            # broken lines
            'vllm:num_requests_running{model_name="m" 7',
            'vllm:num_requests_running{model_name="m"} seven',
            "vllm:num_requests_running",
            "vllm:kv_cache_usage_perc   0.5   ",
        ]
    )
    assert parse_vllm_gauges(text, "m") == VllmGauges(running=5, waiting=1, kv_usage=0.5)
    assert parse_vllm_gauges(text, 'we"ird\\name') == VllmGauges(running=5, waiting=5, kv_usage=0.5)


@pytest.mark.parametrize(
    ("base_url", "url"),
    [
        ("http://vllm:8000/v1", "http://vllm:8000/metrics"),
        ("http://vllm:8000/v1/", "http://vllm:8000/metrics"),
        ("https://gpu.example/pool-a/v1", "https://gpu.example/pool-a/metrics"),
        ("http://vllm:8000", "http://vllm:8000/metrics"),
    ],
)
def test_metrics_url(base_url: str, url: str) -> None:
    assert metrics_url(base_url) == url
