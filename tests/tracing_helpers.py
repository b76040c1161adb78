"""OpenTelemetry's SDK for the tracing tests: one tracer provider for the process (the API
takes one), recording only while a test holds the ``spans`` fixture (a sampler switched on
and off), its spans read back from the SDK's in-memory exporter. Outside those tests the
provider is set but samples nothing: tcdyn's path with OpenTelemetry imported but unused."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult


class Switch(Sampler):
    """Records every span while ``on``, none otherwise."""

    on = False

    def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: Any = None,
                      attributes: Any = None, links: Any = None,
                      trace_state: Any = None) -> SamplingResult:
        return SamplingResult(Decision.RECORD_AND_SAMPLE if self.on else Decision.DROP,
                              attributes)

    def get_description(self) -> str:
        return "tcdyn tests: on or off"


_SET: list[tuple[Switch, InMemorySpanExporter]] = []


def installed() -> tuple[Switch, InMemorySpanExporter]:
    """The process's tracer provider, set on first use."""
    if not _SET:
        switch, exporter = Switch(), InMemorySpanExporter()
        provider = TracerProvider(sampler=switch)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        assert trace.get_tracer_provider() is provider, "another tracer provider was set"
        _SET.append((switch, exporter))
    return _SET[0]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The exporter of the spans recorded during the test."""
    switch, exporter = installed()
    exporter.clear()
    switch.on = True
    try:
        yield exporter
    finally:
        switch.on = False
        exporter.clear()


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def one(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = named(exporter, name)
    assert len(found) == 1, [s.name for s in exporter.get_finished_spans()]
    return found[0]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def hex_trace_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return trace.format_trace_id(span.context.trace_id)


def everything(found: Sequence[ReadableSpan]) -> str:
    """Every span as the exporters write it: name, attributes, events, links, status."""
    return "\n".join(json.dumps(json.loads(s.to_json())) for s in found)
