"""One request's trace across the three processes, as a Collector receives it over
OTLP/HTTP: the router's server span, a GenAI client span for the upstream attempt, user-org's
key lookup (W3C context in the HTTP headers) and analytics' ingest of its usage event
(context in the AMQP message's headers, through real RabbitMQ)."""

from __future__ import annotations

import secrets

import openai

from aistrale_testkit.otlp_receiver import ReceivedSpan

from .conftest import Live
from .traffic import MESSAGES, MODEL


def test_a_request_is_one_trace_across_the_services(live: Live) -> None:
    admin, run = live.admin, live.platform.run
    org = admin.org(f"obs-{run}-traced-{secrets.token_hex(3)}", None)  # its own usage message
    _, key = admin.key(org, "traced")  # new: the router must ask user-org for it
    request_id = "trace-" + secrets.token_hex(8)
    sdk = openai.OpenAI(base_url=live.platform.router.url + "/v1", api_key=key, max_retries=0)
    answer = sdk.chat.completions.create(
        model=MODEL, messages=MESSAGES, extra_headers={"x-request-id": request_id}
    )
    assert answer.usage is not None

    def is_request(span: ReceivedSpan) -> bool:
        return span.kind == "server" and span.attributes.get("http.request_id") == request_id

    [server] = live.traces.wait_for(is_request)
    assert (server.service, server.name) == ("api-router", "POST /v1/chat/completions")

    def in_trace(span: ReceivedSpan) -> bool:
        return span.trace_id == server.trace_id

    [attempt] = live.traces.wait_for(lambda s: in_trace(s) and s.kind == "client")
    assert attempt.service == "api-router" and attempt.parent_span_id == server.span_id
    assert attempt.name == "chat fake-chat"
    assert attempt.attributes["gen_ai.system"] == "vllm"
    assert attempt.attributes["gen_ai.request.model"] == "fake-chat"
    assert attempt.attributes["gen_ai.response.model"] == "fake-chat"
    assert attempt.attributes["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens
    assert attempt.attributes["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens
    assert attempt.attributes["gen_ai.response.finish_reasons"] == ("stop",)

    # The key lookup, and the org's guardrails (governance/): both user-org server spans
    # under the router's own.
    def looks_up(span: ReceivedSpan) -> bool:
        return in_trace(span) and span.name == "GET /internal/v1/keys/{key_hash}"

    [lookup] = live.traces.wait_for(looks_up)
    asked = live.traces.wait_for(lambda s: in_trace(s) and s.service == "user-org")
    assert lookup.service == "user-org"
    assert {s.name for s in asked} <= {lookup.name, "GET /internal/v1/orgs/{org_id}/guardrails"}
    assert all(s.parent_span_id == server.span_id and s.kind == "server" for s in asked)

    def ingests_it(span: ReceivedSpan) -> bool:
        linked = (server.trace_id, server.span_id) in span.links
        return span.service == "analytics" and (in_trace(span) or linked)

    [ingest] = live.traces.wait_for(ingests_it)
    assert ingest.kind == "consumer" and ingest.parent_span_id == server.span_id
    assert ingest.attributes["messaging.system"] == "rabbitmq"
    assert ingest.attributes["messaging.rabbitmq.destination.routing_key"] == f"usage.v1.{org}"
