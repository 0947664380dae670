"""Hands cti's spans to the application's own OpenTelemetry SDK, when it configured one.

Imported by _cti_rt only once the application imported `opentelemetry.sdk.trace`. The spans keep
cti's ids and parents (a call made under one of the application's spans is already its child),
get the provider's resource, and go to the provider's span processors as the application's own
spans do. The SDK has no public way to hand it a finished span: this uses the provider's
`_active_span_processor` (present from 1.0 to at least 1.45); without it, nothing is handed.
"""
import sys

_VERSION = "0.1.0"
_cache = [None, None]  # [provider, its span processor]


def processor():
    """The application's span processor, or None (no SDK provider set, or an unknown SDK)."""
    try:
        provider = sys.modules["opentelemetry.trace"].get_tracer_provider()
    except Exception:
        return None
    if provider is _cache[0]:
        return _cache[1]
    found = getattr(provider, "_active_span_processor", None)
    _cache[0], _cache[1] = provider, (found if callable(getattr(found, "on_end", None)) else None)
    return _cache[1]


def readable(d, provider_resource):
    """An SDK ReadableSpan from cti's span dict (docs/telemetry.md shape)."""
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    trace_id = int(d["trace_id"], 16)
    context = SpanContext(trace_id, int(d["span_id"], 16), is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    parent = None
    if d["parent_span_id"] is not None:
        parent = SpanContext(trace_id, int(d["parent_span_id"], 16), is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    status = d["status"]
    return ReadableSpan(
        name=d["name"], context=context, parent=parent, resource=provider_resource, attributes=d["attributes"],
        events=[Event(e["name"], e["attributes"], int(e["time_unix_nano"])) for e in d["events"]],
        kind=SpanKind.INTERNAL,
        status=Status(StatusCode.ERROR, status["message"]) if status["code"] == "ERROR" else Status(StatusCode.OK),
        start_time=int(d["start_time_unix_nano"]), end_time=int(d["end_time_unix_nano"]),
        instrumentation_scope=InstrumentationScope("code-telemetry-injector", _VERSION),
    )


def hand(processor_, d):
    """Gives one finished span to the application's processor; False when it could not."""
    try:
        resource = sys.modules["opentelemetry.trace"].get_tracer_provider().resource
        processor_.on_end(readable(d, resource))
        return True
    except Exception:
        return False
