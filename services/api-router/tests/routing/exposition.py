"""A `/metrics` body shaped like a real vLLM server's, written by prometheus_client (which is
what vLLM itself uses): the v1 engine's gauges, counters and latency histograms per engine,
the HTTP instrumentator's series and the process collectors' — about 1,000 lines."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

SECONDS = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
    160.0,
    640.0,
    2560.0,
)
TOKENS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
HISTOGRAMS = {
    "vllm:time_to_first_token_seconds": SECONDS,
    "vllm:time_per_output_token_seconds": SECONDS,
    "vllm:inter_token_latency_seconds": SECONDS,
    "vllm:e2e_request_latency_seconds": SECONDS,
    "vllm:request_queue_time_seconds": SECONDS,
    "vllm:request_inference_time_seconds": SECONDS,
    "vllm:request_prefill_time_seconds": SECONDS,
    "vllm:request_decode_time_seconds": SECONDS,
    "vllm:request_prompt_tokens": TOKENS,
    "vllm:request_generation_tokens": TOKENS,
    "vllm:iteration_tokens_total": TOKENS,
    "vllm:request_max_num_generation_tokens": TOKENS,
    "vllm:request_params_max_tokens": TOKENS,
}
HANDLERS = ("/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics")


def vllm_exposition(
    *,
    model: str = "meta-llama/Llama-3.1-8B-Instruct",
    engines: int = 1,
    running: float = 3.0,
    waiting: float = 0.0,
    kv_usage: float = 0.25,
    legacy_kv_name: bool = False,
) -> str:
    registry = CollectorRegistry()
    labels = ["model_name", "engine"]
    gauges = {
        "vllm:num_requests_running": running,
        "vllm:num_requests_waiting": waiting,
        "vllm:gpu_cache_usage_perc" if legacy_kv_name else "vllm:kv_cache_usage_perc": kv_usage,
    }
    for name, value in gauges.items():
        gauge = Gauge(name, f"{name} (test)", labels, registry=registry)
        for engine in range(engines):
            gauge.labels(model, str(engine)).set(value)
    info = Gauge(
        "vllm:cache_config_info", "Cache config", ["block_size", "cache_dtype"], registry=registry
    )
    info.labels("16", "auto").set(1)
    for name in ("vllm:num_preemptions", "vllm:prompt_tokens", "vllm:generation_tokens"):
        counter = Counter(name, f"{name} (test)", labels, registry=registry)
        for engine in range(engines):
            counter.labels(model, str(engine)).inc(1234)
    success = Counter(
        "vllm:request_success", "Finished", [*labels, "finished_reason"], registry=registry
    )
    for reason in ("stop", "length", "abort", "error"):
        success.labels(model, "0", reason).inc(7)
    for name, buckets in HISTOGRAMS.items():
        histogram = Histogram(name, f"{name} (test)", labels, buckets=buckets, registry=registry)
        for engine in range(engines):
            histogram.labels(model, str(engine)).observe(buckets[3])
    _http(registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)
    ProcessCollector(registry=registry)
    return generate_latest(registry).decode()


def _http(registry: CollectorRegistry) -> None:
    total = Counter("http_requests", "Requests", ["handler", "method", "status"], registry=registry)
    duration = Histogram(
        "http_request_duration_seconds",
        "Latency",
        ["handler", "method"],
        buckets=SECONDS,
        registry=registry,
    )
    for handler in HANDLERS:
        total.labels(handler, "POST", "2xx").inc(100)
        duration.labels(handler, "POST").observe(0.2)
