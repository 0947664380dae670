"""Hands cti's spans to the application's own OpenTelemetry SDK, when it configured one.

Imported by _cti_rt only once the application imported `opentelemetry.sdk.trace`. The spans keep
cti's ids and parents (a call made under one of the application's spans is already its child),
get the provider's resource, and go to the provider's span processors as the application's own
spans do. The SDK has no public way to hand it a finished span: this uses the provider's
`_active_span_processor` (present from 1.0 to at least 1.45); without it, nothing is handed.

bridge() then lets the application's spans nest under cti's: the application reads its current
context through `opentelemetry.context._RUNTIME_CONTEXT` (get_current, set_value, start_span with
no context, propagators, log correlation); wrapped, it shows cti's current span when that one is
newer than the application's (see _cti_rt._cti_newer).
"""
import contextvars
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


def bridge():
    """Wraps the application's runtime context once; (its real get_current, the current-span key,
    the suppress-instrumentation key), or None when opentelemetry's modules are not the expected ones."""
    context = sys.modules.get("opentelemetry.context")
    propagation = sys.modules.get("opentelemetry.trace.propagation")
    real = getattr(context, "_RUNTIME_CONTEXT", None)
    key = getattr(propagation, "_SPAN_KEY", None)
    if real is None or type(key) is not str or not callable(getattr(real, "get_current", None)):
        return None
    real = getattr(real, "_cti_real", real)  # wrapped already (a second bridge after a fork, say)
    context._RUNTIME_CONTEXT = _runtime_class(type(real))(real, key)
    quiet = getattr(context, "_SUPPRESS_INSTRUMENTATION_KEY", None)
    return _reader(real), key, quiet if type(quiet) is str else None


def _runtime_class(base):
    """A runtime context that is the application's own, but for get_current."""
    rt = sys.modules["_cti_rt"]
    current = rt._current.get
    recording = rt._Span
    make = _stand_in_class()
    last = [None]  # (cti span, real context, context shown): the same read gives the same object

    class Runtime(base):
        def __init__(self, real, key):
            self._cti_real = real
            self._cti_key = key
            # attach and detach are the real ones: no frame of ours in what they raise or log
            self.attach, self.detach = real.attach, real.detach
            self._cti_get = _reader(real)

        def attach(self, context):
            return self._cti_real.attach(context)

        def detach(self, token):
            self._cti_real.detach(token)

        def get_current(self):
            ctx = self._cti_get()
            try:
                s = current()
                if s is None or type(s) is not recording or not s.rec:
                    return ctx
                hit = last[0]
                if hit is not None and hit[0] is s and hit[1] is ctx:
                    return hit[2]
                span = ctx.get(self._cti_key)
                if not rt._cti_newer(s, span):
                    return ctx
                shown = ctx.copy()
                shown[self._cti_key] = make(s, span)
                shown = type(ctx)(shown)
                last[0] = (s, ctx, shown)
                return shown
            except Exception:
                return ctx

        def __getattr__(self, name):  # anything else the application reads is the real one's
            if name.startswith("_cti"):
                raise AttributeError(name)
            return getattr(self._cti_real, name)

    Runtime.__name__ = Runtime.__qualname__ = base.__name__
    return Runtime


def _reader(real):
    """real.get_current, or the ContextVar's own get it wraps (one Python call less per read)."""
    var = getattr(real, "_current_context", None)
    if type(real).__name__ == "ContextVarsRuntimeContext" and type(var) is contextvars.ContextVar:
        return var.get
    return real.get_current


def _stand_in_class():
    """The span the application sees as current while a cti call is: cti's ids (the parent of
    what the application starts there, what propagators and log correlation read); what the
    application does with it goes to the span that was current without cti, as it did before."""
    from opentelemetry.trace import INVALID_SPAN, NonRecordingSpan, SpanContext, TraceFlags

    sampled = TraceFlags(TraceFlags.SAMPLED)
    forwarded = ("is_recording", "end", "set_attributes", "set_attribute", "add_event", "add_link",
                 "update_name", "set_status", "record_exception")

    class CtiSpan(NonRecordingSpan):
        def __init__(self, s, target):
            NonRecordingSpan.__init__(self, SpanContext(s.trace, s.sid, is_remote=False, trace_flags=sampled))
            target = INVALID_SPAN if target is None else target
            for name in forwarded:  # its bound methods: no frame of ours in what they raise
                method = getattr(target, name, None)
                if method is not None:
                    setattr(self, name, method)
            self._cti_target = target

        def __getattr__(self, name):  # the SDK span's own fields (name, attributes, …) are the target's
            if name == "_cti_target":
                raise AttributeError(name)
            return getattr(self._cti_target, name)

    return CtiSpan
