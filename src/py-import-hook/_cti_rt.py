"""cti runtime for Python: the probes instrumented code calls (stdlib only).

The contract is docs/telemetry.md. Instrumented modules bind `_cti = __import__("_cti_rt").module(path)`
and call its methods; every method returns quickly, never raises into the program and never
swallows the program's exceptions.
"""
import atexit
import collections
import contextvars
import json
import os
import random
import re
import sys
import threading
import time
import weakref

_VERSION = "0.1.0"
_now = time.time_ns
_current = contextvars.ContextVar("cti_span", default=None)
_get_current, _set_current = _current.get, _current.set

# A private generator: a program's random.seed() must not make ids repeat.
_rng = random.Random(os.urandom(32))
_bits = _rng.getrandbits

_DEFAULT_REDACT = [
    "passw(or)?d", "passwd", "pwd", "secret", "token", "api[-_]?key", "authori[sz]ation", "cookie", "session",
    "credit[-_]?card", "card[-_]?number", "cvv", "ssn", "private[-_]?key", "credential",
]


def _env(name):
    v = os.environ.get(name, "").strip()
    return v or None


def _int_env(name, default):
    try:
        v = int(_env(name) or default)
        return v if v > 0 else default
    except ValueError:
        return default


class _Settings:
    """What the environment (and the boot config of `cti py hook`) asks for; read once."""

    def __init__(self, boot):
        limits = boot.get("limits") or {}
        self.events = _int_env("OTEL_SPAN_EVENT_COUNT_LIMIT", limits.get("eventsPerSpan", 128))
        self.length = _int_env("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", limits.get("valueLength", 120))
        self.redact = re.compile("|".join("(?:%s)" % p for p in (boot.get("redact") or _DEFAULT_REDACT)), re.I)
        self.file = _env("CTI_TRACES_FILE")
        endpoint = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        base = _env("OTEL_EXPORTER_OTLP_ENDPOINT") or _env("RECEIVER_URL")
        if endpoint is None and base is not None:
            endpoint = base.rstrip("/") + "/v1/traces"
        self.endpoint = endpoint
        self.headers = {}
        for part in (_env("OTEL_EXPORTER_OTLP_HEADERS") or "").split(","):
            k, sep, v = part.partition("=")
            if sep and k.strip():
                self.headers[k.strip()] = v.strip()
        self.timeout = _int_env("OTEL_EXPORTER_OTLP_TIMEOUT", 10000) / 1000.0
        self.delay = _int_env("OTEL_BSP_SCHEDULE_DELAY", 1000) / 1000.0
        self.queue = _int_env("OTEL_BSP_MAX_QUEUE_SIZE", 2048)
        self.batch = _int_env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)
        disabled = (_env("OTEL_SDK_DISABLED") or "").lower() == "true" or _env("CTI_DISABLE") == "1"
        self.on = not disabled and (self.file is not None or self.endpoint is not None)
        sampler = (_env("OTEL_TRACES_SAMPLER") or "parentbased_always_on").lower()
        ratio = 1.0
        if sampler.endswith("traceidratio"):
            try:
                ratio = min(1.0, max(0.0, float(_env("OTEL_TRACES_SAMPLER_ARG") or 1)))
            except ValueError:
                ratio = 1.0
        elif sampler.endswith("always_off"):
            ratio = 0.0
        self.bound = int(ratio * (1 << 64))
        attrs = {}
        for part in (_env("OTEL_RESOURCE_ATTRIBUTES") or "").split(","):
            k, sep, v = part.partition("=")
            if sep and k.strip():
                attrs[k.strip()] = v.strip()
        service = _env("OTEL_SERVICE_NAME") or attrs.get("service.name") or "unknown_service:python"
        self.resource = {"service.name": service, "telemetry.sdk.name": "code-telemetry-injector",
                         "telemetry.sdk.language": "python", "telemetry.sdk.version": _VERSION,
                         "process.pid": os.getpid()}
        self.resource.update(attrs)
        self.resource["service.name"] = service
        self.set_resource()
        # Previews of None, bools, ints and plain strings within these bounds are never cut: they
        # are exported without _preview (with a tiny length limit everything goes through it).
        self.fast = self.length >= 42
        self.int_bound = 10 ** 40 if self.fast else 0
        self.str_bound = self.length - 2
        self.ret_secret = self.redact.search("") is not None  # a return value is redacted by the name ""

    def set_resource(self):
        self.resource_json = json.dumps(self.resource, ensure_ascii=False, separators=(",", ":"))
        # the end of a line with no events, dropped events or error
        self.tail = '},"events":[],"dropped_events_count":0,"status":{"code":"OK"},"resource":' + self.resource_json + "}\n"


_cfg = _Settings({})
_on = _cfg.on
_bound = _cfg.bound


def configure(boot):
    """Called by the import hook with its cti_boot.json before any instrumented module runs."""
    global _cfg, _on, _redacted, _bound
    _cfg = _Settings(boot)
    _on = _cfg.on
    _bound = _cfg.bound
    _redacted = {}
    _heads.clear()


# ---- value previews ----------------------------------------------------------------------

_redacted = {}
_SCALARS = (int, float, bool, type(None), complex)
_BIG = 10 ** 40  # too big for the compiler to fold: computed once here, not per value


def _quote(s):
    if '"' in s or "\\" in s or not s.isprintable():
        return json.dumps(s, ensure_ascii=False)
    return '"' + s + '"'


def _cut(text, limit):
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "\u2026"


def _preview(v, limit, depth=0):
    """One bounded line; never runs the program's code (no __repr__, no properties)."""
    t = type(v)
    if t is str:
        return _quote(v[:limit])
    if t in _SCALARS:
        if t is int and (v > _BIG or v < -_BIG):
            return "%d digits" % len(str(abs(v)))
        return repr(v)
    if t is bytes or t is bytearray:
        return repr(v[:limit])
    if t is list or t is tuple or t is set or t is frozenset:
        if depth > 0:
            return "[…]" if t is list else "(…)" if t is tuple else "{…}"
        items = []
        for i, item in enumerate(v):
            if i == 10:
                items.append("…")
                break
            items.append(_preview(item, limit, 1))
        body = ", ".join(items)
        if t is list:
            return "[" + body + "]"
        if t is tuple:
            return "(" + body + ("," if len(items) == 1 else "") + ")"
        return ("{" + body + "}") if items else t.__name__ + "()"
    if t is dict:
        if depth > 0:
            return "{…}"
        items = []
        for i, (k, item) in enumerate(v.items()):
            if i == 10:
                items.append("…")
                break
            items.append(_preview(k, limit, 1) + ": " + _preview(item, limit, 1))
        return "{" + ", ".join(items) + "}"
    name = getattr(t, "__qualname__", "object")
    if issubclass(t, BaseException):  # not isinstance: it may read v.__class__ (program code)
        args = v.args
        msg = args[0] if len(args) == 1 and type(args[0]) is str else ", ".join(_preview(a, limit, 1) for a in args[:3])
        return name + ": " + msg if msg else name
    if depth > 0 or t.__getattribute__ is not object.__getattribute__:
        return name
    try:
        d = object.__getattribute__(v, "__dict__")
    except Exception:
        return name
    if type(d) is not dict:
        return name
    fields = []
    for i, (k, item) in enumerate(d.items()):
        if i == 10:
            fields.append("…")
            break
        fields.append("%s=%s" % (k, _preview(item, limit, 1)))
    return name + "(" + ", ".join(fields) + ")"


def _secret(name):
    secret = _redacted.get(name)
    if secret is None:
        secret = _redacted[name] = _cfg.redact.search(name) is not None
    return secret


def _value(name, v):
    """The exported text of a captured value: redacted by name, else its preview."""
    if _secret(name):
        return "[REDACTED]"
    if type(v) is _P:
        return v.text
    try:
        return _cut(_preview(v, _cfg.length), _cfg.length)
    except Exception:
        return "[unpreviewable]"


# Immutable values are kept as they are and previewed when the span is exported (off the hot
# path); anything else is previewed when captured (a later mutation must not show).
_IMMUTABLE = frozenset((int, float, bool, type(None), str, bytes, complex))


class _P:
    """A preview taken at capture time."""
    __slots__ = ("text",)


def _cap(v):
    if type(v) in _IMMUTABLE:
        return v
    p = _P()
    try:
        p.text = _cut(_preview(v, _cfg.length), _cfg.length)
    except Exception:
        p.text = "[unpreviewable]"
    return p


# ---- spans -------------------------------------------------------------------------------

_fork_gen = 0
_NONE = object()  # no return value recorded
_UNFINISHED = object()  # in place of the return value: the call was still running at exit

# Events are tuples (kind, time, a, b, c); the dicts and JSON are made at export.
_VAR, _BRANCH, _LOOP, _EXC = 0, 1, 2, 3


class _Span:
    __slots__ = ("meta", "path", "trace", "sid", "parent", "prev", "rec", "start", "end", "args", "ret",
                 "events", "dropped", "error", "loops", "gen", "otel")


def _event(s, ev):
    events = s.events
    if events is None:
        s.events = [ev]
    elif len(events) < _cfg.events:
        events.append(ev)
    else:
        s.dropped += 1


def _drop():
    """A dropped trace: one marker is current while its root runs; the calls under it get None
    and every probe returns at once."""
    s = _Span()
    s.rec = False
    s.prev = None
    _set_current(s)
    return s


class module:
    """The probes of one instrumented file (`path` is its code.file.path)."""

    __slots__ = ("path",)

    def __init__(self, path):
        self.path = path

    def enter(self, meta, *args):
        if not _on:
            return None
        try:
            cur = _get_current()
            if cur is None and _thread_parents_data:
                cur = _adopt_thread_parent()
            if cur is not None:
                if not cur.rec:
                    return None
                trace = cur.trace
                parent = cur.sid
            else:
                outer = _otel_parent() if "opentelemetry.trace" in _modules else None
                if outer is None:
                    trace = _bits(128) or 1
                    parent = None
                    if (trace & 0xFFFFFFFFFFFFFFFF) >= _bound:
                        return _drop()
                else:
                    trace, parent, sampled = outer
                    if not sampled:
                        return _drop()
            s = _Span()
            s.trace = trace
            s.parent = parent
            s.rec = True
            s.sid = _bits(64) or 1
            s.prev = cur
            s.meta = meta
            s.path = self.path
            s.gen = _fork_gen
            s.events = s.loops = s.error = None
            s.ret = _NONE
            s.dropped = 0
            for v in args:
                if type(v) not in _IMMUTABLE:
                    args = tuple(map(_cap, args))
                    break
            s.args = args
            s.start = _now()
            _set_current(s)
            return s
        except Exception:
            return None

    def exit(self, s):
        if s is None:
            return
        try:
            if _get_current() is s:
                _set_current(s.prev)
            if s.rec and s.gen == _fork_gen:
                s.end = _now()
                s.prev = None
                # The exporter's queue, inline; the rest of _Exporter.add only when there is more to do.
                x = _exporter
                if "opentelemetry.sdk.trace" in _modules:
                    x.add(s)  # the application's SDK may take it
                    return
                q = x.queue
                q.append(s)
                if not x.steady or len(q) >= _cfg.batch:
                    x.added(s, len(q))
        except Exception:
            pass

    def fail(self, s, e):
        if s is None or not s.rec or issubclass(type(e), (GeneratorExit, StopIteration, StopAsyncIteration)):
            return
        try:
            kind = type(e).__qualname__
            try:
                message = str(e)
            except Exception:
                message = "[unprintable]"
            s.error = kind + ": " + message if message else kind
            ev = s.events
            if ev is None:
                ev = s.events = []
            if len(ev) >= _cfg.events:
                ev.pop()
                s.dropped += 1
            ev.append((_EXC, _now(), kind, message, _stack(e)))
        except Exception:
            pass

    def ret(self, s, v):
        if s is not None and s.rec:
            s.ret = v if type(v) in _IMMUTABLE else _cap(v)
        return v

    def v(self, s, name, value, line):
        if s is not None and s.rec:
            _event(s, (_VAR, _now(), name, _cap(value), line))

    def pv(self, s, name, value, line):
        if s is not None and s.rec:
            _event(s, (_VAR, _now(), name, _cap(value), line))
        return value

    def b(self, s, kind, line):
        if s is not None and s.rec:
            _event(s, (_BRANCH, _now(), kind, line, None))

    def l(self, s, loop, kind, line):
        if s is None or not s.rec:
            return
        loops = s.loops
        if loops is None:
            loops = s.loops = {}
        count = loops.get(loop)
        if count is not None:
            count[0] += 1
            return
        count = loops[loop] = [1]
        _event(s, (_LOOP, _now(), kind, line, count))

    def y(self, s, value):
        """Before a generator yields: the consumer's context is current again."""
        if s is not None and _current.get() is s:
            _current.set(s.prev)
        return value

    def r(self, s, value):
        """After a generator resumed: it is current, and goes back to whoever resumed it."""
        if s is not None:
            s.prev = _current.get()
            _current.set(s)
        return value


_modules = sys.modules


# ---- parents across threads -----------------------------------------------------------------
# A Python thread starts with an empty context, so its calls would start new traces. A new thread
# gets the span that created it, and a thread pool's task the span that submitted it, through two
# stdlib seams that put no frame of ours in any traceback: Thread.__init__ adds every thread to
# threading._dangling, and concurrent.futures runs every task through its _WorkItem class.

_thread_parents = weakref.WeakKeyDictionary()
_thread_parents_data = _thread_parents.data  # its dict: empty when no thread waits for its parent (cheaper than len())


def _adopt_thread_parent():
    """First call with no parent in a thread: it takes the span that created the thread, for good."""
    try:
        parent = _thread_parents.pop(threading.current_thread(), None)
    except Exception:
        return None
    if parent is not None:
        _current.set(parent)
    return parent


class _Threads(weakref.WeakSet):
    def add(self, item):
        weakref.WeakSet.add(self, item)
        if _on:
            try:
                cur = _current.get()
                if cur is not None:
                    _thread_parents[item] = cur
                if _WorkItem is None and getattr(getattr(item, "_target", None), "__module__", None) == "concurrent.futures.thread":
                    _patch_work_item()
            except Exception:
                pass


_WorkItem = None


def _patch_work_item():
    """Each task remembers the span that submitted it and runs under it (or under none)."""
    global _WorkItem
    futures = _modules.get("concurrent.futures.thread")
    base = getattr(futures, "_WorkItem", None)
    if base is None or _WorkItem is not None or not callable(getattr(base, "run", None)):
        return

    class WorkItem(base):
        def __init__(self, *args, **kwargs):
            base.__init__(self, *args, **kwargs)
            self._cti_parent = _current.get() if _on else None

        def run(self, *args, **kwargs):
            # The task's exception is caught in base.run, below this frame: never in its traceback.
            try:
                _thread_parents.pop(threading.current_thread(), None)
            except Exception:
                pass
            token = _current.set(self._cti_parent)
            try:
                return base.run(self, *args, **kwargs)
            finally:
                _current.reset(token)

    WorkItem.__name__ = WorkItem.__qualname__ = base.__name__
    WorkItem.__module__ = base.__module__
    _WorkItem = futures._WorkItem = WorkItem


if type(getattr(threading, "_dangling", None)) is weakref.WeakSet:
    threading._dangling = _Threads(threading._dangling)
if "concurrent.futures.thread" in _modules:
    _patch_work_item()


def _otel_parent():
    """The application's current OpenTelemetry span (trace id, span id, sampled), when it has one:
    a call with no cti parent then joins that trace under it. Never imports opentelemetry."""
    try:
        if not _bridged and "opentelemetry.sdk.trace" in _modules:
            _bridge_if_sdk()
        ctx = _modules["opentelemetry.trace"].get_current_span().get_span_context()
        if ctx.is_valid:
            return ctx.trace_id, ctx.span_id, bool(ctx.trace_flags & 1)
    except Exception:
        pass
    return None


# ---- interleaving with the application's OpenTelemetry spans -----------------------------------
# Once the application set an SDK TracerProvider, cti's current span and the application's take
# turns as parents: whichever started last is the parent of what starts next. A cti span records
# the OpenTelemetry span that was current when it started (`otel`): while that one is still the
# application's current span, the cti span is newer. Both sides ask through _cti_sdk: the
# application's context reads show cti's span (_cti_sdk.Runtime), and cti's calls use
# _enter_bridged. Programs without an SDK never get here: module.enter stays the plain one.

_bridged = False
_otel_get = _otel_key = None  # the application's real context read, and its current-span key
_otel_quiet = None  # the key OpenTelemetry sets while instrumentation is suppressed (its exporters)


def _bridge_if_sdk():
    import _cti_sdk
    if _cti_sdk.processor() is not None:
        _bridge()


def _bridge():
    global _bridged, _otel_get, _otel_key, _otel_quiet
    _bridged = True
    try:
        import _cti_sdk
        found = _cti_sdk.bridge()
        if found is not None:
            _otel_get, _otel_key, _otel_quiet = found
            module.enter = _enter_bridged
    except Exception:
        pass


_plain_enter = module.enter


def _cti_newer(s, span):
    """Whether the recording cti span s started after `span`, the application's current span."""
    if span is None:
        return True
    try:
        if span is s.otel:
            return True
    except AttributeError:  # s started before the bridge: it is newer if it is that span's child
        ctx = span.get_span_context()
        return not ctx.is_valid or ctx.span_id == s.parent
    return not span.get_span_context().is_valid


def _enter_bridged(self, meta, *args):
    """module.enter with an SDK: the application's current span is the parent when it is newer
    than cti's current span; every span records the application's span it started under."""
    if not _on:
        return None
    try:
        cur = _get_current()
        if cur is None and _thread_parents_data:
            cur = _adopt_thread_parent()
        ctx = _otel_get()
        if ctx.get(_otel_quiet):
            # The SDK exporting (cti's spans among others): an instrumented exporter records
            # nothing, as OpenTelemetry's instrumentations do, or each export would make a span.
            return None
        span = ctx.get(_otel_key)  # the application's current span (inline: per call)
        if cur is None or not cur.rec or span is None or span is getattr(cur, "otel", None) or _cti_newer(cur, span):
            s = _plain_enter(self, meta, *args)
        else:
            s = _enter_under(self, meta, args, cur, span.get_span_context())
        if s is not None and s.rec:
            s.otel = span
        return s
    except Exception:
        return None


def _enter_under(self, meta, args, cur, ctx):
    """A span whose parent is the application's span ctx, though cti's current span is cur: the
    plain enter runs under a stand-in for ctx, and the new span goes back to cur when it ends."""
    stand_in = _Span()
    stand_in.rec = bool(ctx.trace_flags & 1)  # unsampled: no span, as under an unsampled root
    stand_in.trace, stand_in.sid = ctx.trace_id, ctx.span_id
    _set_current(stand_in)
    s = _plain_enter(self, meta, *args)
    if s is None:
        _set_current(cur)
    else:
        s.prev = cur
    return s


def _stack(e):
    """Where the exception is now: (file, line, function) of up to 32 frames, for this exception
    and up to 3 it chains to. Taken cheaply when it is raised (the program goes on at once);
    formatted at export by _traceback."""
    chain = []
    seen = set()
    while e is not None and len(chain) < 4 and id(e) not in seen:
        seen.add(id(e))
        frames = []
        tb = e.__traceback__
        while tb is not None and len(frames) < 32:
            code = tb.tb_frame.f_code
            frames.append((code.co_filename, tb.tb_lineno, code.co_name))
            tb = tb.tb_next
        t = type(e)
        module = getattr(t, "__module__", None)
        kind = t.__qualname__ if module in ("builtins", "__main__", None) else module + "." + t.__qualname__
        try:
            message = str(e)
        except Exception:
            message = "[unprintable]"
        if e.__cause__ is not None:
            link, e = "The above exception was the direct cause of the following exception:", e.__cause__
        elif e.__context__ is not None and not e.__suppress_context__:
            link, e = "During handling of the above exception, another exception occurred:", e.__context__
        else:
            link, e = None, None
        chain.append((frames, kind + ": " + message if message else kind, link))
    return chain


def _traceback(chain):
    """The text Python prints for the exception (the innermost cause first), 4 KB at most."""
    import linecache
    parts = []
    for frames, last, link in reversed(chain):
        if link is not None:
            parts.append("\n%s\n\n" % link)
        if frames:
            parts.append("Traceback (most recent call last):\n")
        for path, line, name in frames:
            parts.append('  File "%s", line %d, in %s\n' % (path, line, name))
            code = linecache.getline(path, line).strip()
            if code:
                parts.append("    %s\n" % code)
        parts.append(last + "\n")
    return "".join(parts)[-4096:]


def _unfinished():
    """The calls other threads (daemon threads) are still running as the process exits, found in
    their frames: ended now and marked cti.unfinished, once (their real end is not exported)."""
    found = []
    try:
        me = threading.get_ident()
        t = _now()
        for ident, f in sys._current_frames().items():
            while ident != me and f is not None:
                s = f.f_locals.get("_cti_s") if "_cti_s" in f.f_code.co_varnames else None
                if type(s) is _Span and s.rec and s.gen == _fork_gen and s.ret is not _UNFINISHED:
                    try:
                        s.end
                    except AttributeError:  # not ended yet
                        s.end, s.ret, s.rec = t, _UNFINISHED, False
                        found.append(s)
                f = f.f_back
    except Exception:
        pass
    return found


# ---- export ------------------------------------------------------------------------------

_sdk_took = False  # the application's OpenTelemetry SDK exports cti's spans: cti does not send them too


def _to_sdk(s):
    """When the application configured an OpenTelemetry SDK, its span processors take the span
    as it ends, as they take the application's own (True). See _cti_sdk."""
    global _sdk_took
    try:
        import _cti_sdk
        p = _cti_sdk.processor()
        if p is not None and _cti_sdk.hand(p, _span_dict(s)):
            _sdk_took = True
            if not _bridged:
                _bridge()
            return True
    except Exception:
        pass
    return False


def _event_dict(e):
    kind, t, a, b, c = e
    if kind == _VAR:
        name, attrs = "cti.var", {"cti.var.name": a, "cti.var.value": _value(a, b), "code.line.number": c}
    elif kind == _BRANCH:
        name, attrs = "cti.branch", {"cti.branch.kind": a, "code.line.number": b}
    elif kind == _LOOP:
        name, attrs = "cti.loop", {"cti.loop.kind": a, "code.line.number": b, "cti.loop.iterations": c[0]}
    else:
        name, attrs = "exception", {"exception.type": a, "exception.message": b, "exception.stacktrace": _traceback(c)}
    return {"name": name, "time_unix_nano": str(t), "attributes": attrs}


def _span_dict(s):
    meta = s.meta
    attrs = {"code.function.name": meta[0], "code.file.path": s.path, "code.line.number": meta[1], "cti.lang": "python"}
    for name, v in zip(meta[2], s.args):
        attrs["cti.arg." + name] = _value(name, v)
    if s.ret is _UNFINISHED:
        attrs["cti.unfinished"] = True
    elif s.ret is not _NONE:
        attrs["cti.return"] = _value("", s.ret)
    return {
        "trace_id": "%032x" % s.trace, "span_id": "%016x" % s.sid,
        "parent_span_id": None if s.parent is None else "%016x" % s.parent,
        "name": meta[0], "start_time_unix_nano": str(s.start), "end_time_unix_nano": str(s.end),
        "attributes": attrs, "events": [_event_dict(e) for e in s.events or ()], "dropped_events_count": s.dropped,
        "status": {"code": "ERROR", "message": s.error} if s.error is not None else {"code": "OK"},
        "resource": _cfg.resource,
    }


_js = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses for a str, in C
_heads = {}


def _event_json(e):
    kind, t, a, b, c = e
    if kind == _VAR:
        return '{"name":"cti.var","time_unix_nano":"%d","attributes":{"cti.var.name":%s,"cti.var.value":%s,"code.line.number":%d}}' % (
            t, _js(a), _js(_value(a, b)), c)
    if kind == _BRANCH:
        return '{"name":"cti.branch","time_unix_nano":"%d","attributes":{"cti.branch.kind":%s,"code.line.number":%d}}' % (t, _js(a), b)
    if kind == _LOOP:
        return ('{"name":"cti.loop","time_unix_nano":"%d","attributes":{"cti.loop.kind":%s,"code.line.number":%d,"cti.loop.iterations":%d}}'
                % (t, _js(a), b, c[0]))
    return ('{"name":"exception","time_unix_nano":"%d","attributes":{"exception.type":%s,"exception.message":%s,"exception.stacktrace":%s}}'
            % (t, _js(a), _js(b), _js(_traceback(c))))


def _head(s):
    """What is constant in the lines of one function's spans, made once: its name and attributes
    as JSON, and per argument its key (and the whole text when it is redacted)."""
    meta, path = s.meta, s.path
    name = _js(meta[0])
    args = []
    for a in meta[2]:
        key = "," + _js("cti.arg." + a) + ":"
        args.append((key, key + '"[REDACTED]"' if _secret(a) else None))
    head = (meta, path, ',"name":%s,' % name,
            ',"attributes":{"code.function.name":%s,"code.file.path":%s,"code.line.number":%d,"cti.lang":"python"'
            % (name, _js(path), meta[1]), tuple(args))
    # Keyed by id: hashing the meta tuple costs more than the lookup. The entry holds meta, so
    # its id is not reused while it is there; another function's entry under a reused id of a
    # freed one is replaced.
    _heads[id(meta)] = head
    return head


def _jv(v, cfg):
    """The JSON string of a value's preview (an argument or a return value, not redacted)."""
    t = type(v)
    if t is int:
        if -cfg.int_bound < v < cfg.int_bound:
            return f'"{v}"'
    elif t is str:
        if len(v) <= cfg.str_bound and '"' not in v and "\\" not in v and v.isprintable():
            return f'"\\"{v}\\""'
    elif v is None:
        if cfg.fast:
            return '"None"'
    elif t is bool:
        if cfg.fast:
            return '"True"' if v else '"False"'
    elif t is _P:
        return _js(v.text)
    try:
        return _js(_cut(_preview(v, cfg.length), cfg.length))
    except Exception:
        return '"[unpreviewable]"'


def _span_line(s):
    """One JSONL line, the same text as json.dumps(_span_dict(s))."""
    return _span_lines((s,))


def _span_lines(spans):
    """The JSONL text of spans, built directly rather than through json (it is the biggest part
    of a span's cost): what is constant per function is made once, one f-string joins the rest,
    ints and plain strings (most values) skip _preview, and a trace id is formatted once for
    the spans of one trace that come in a row."""
    cfg = _cfg
    heads = _heads
    ib = cfg.int_bound
    trace = trace_hex = None
    lines = []
    for s in spans:
        meta = s.meta
        head = heads.get(id(meta))
        if head is None or head[0] is not meta or head[1] != s.path:
            head = _head(s)
        out = head[3]
        for (key, redacted), v in zip(head[4], s.args):
            if redacted is not None:
                out += redacted
            elif type(v) is int and -ib < v < ib:
                out += f'{key}"{v}"'
            else:
                out += key + _jv(v, cfg)
        ret = s.ret
        if ret is not _NONE:
            if ret is _UNFINISHED:
                out += ',"cti.unfinished":true'
            elif cfg.ret_secret:
                out += ',"cti.return":"[REDACTED]"'
            elif type(ret) is int and -ib < ret < ib:
                out += f',"cti.return":"{ret}"'
            else:
                out += ',"cti.return":' + _jv(ret, cfg)
        if s.events is None and s.error is None and not s.dropped:
            out += cfg.tail
        else:
            out += '},"events":[%s],"dropped_events_count":%d,"status":%s,"resource":%s}\n' % (
                ",".join([_event_json(e) for e in s.events or ()]), s.dropped,
                '{"code":"OK"}' if s.error is None else '{"code":"ERROR","message":%s}' % _js(s.error), cfg.resource_json)
        parent = s.parent
        try:
            if s.trace is not trace:
                trace = s.trace
                trace_hex = trace.to_bytes(16, "big").hex()
            parent = "null" if parent is None else '"' + parent.to_bytes(8, "big").hex() + '"'
            lines.append(f'{{"trace_id":"{trace_hex}","span_id":"{s.sid.to_bytes(8, "big").hex()}","parent_span_id":{parent}'
                         f'{head[2]}"start_time_unix_nano":"{s.start}","end_time_unix_nano":"{s.end}"{out}')
        except OverflowError:  # an id out of range (from another tracer): as "%x" writes it
            trace = None
            parent = s.parent
            lines.append('{"trace_id":"%032x","span_id":"%016x","parent_span_id":%s%s"start_time_unix_nano":"%d","end_time_unix_nano":"%d"%s'
                         % (s.trace, s.sid, "null" if parent is None else '"%016x"' % parent, head[2], s.start, s.end, out))
    return "".join(lines)


def _otlp_value(v):
    if type(v) is bool:
        return {"boolValue": v}
    if type(v) is int:
        return {"intValue": str(v)}
    if type(v) is float:
        return {"doubleValue": v}
    return {"stringValue": str(v)}


def _otlp_attrs(attrs):
    return [{"key": k, "value": _otlp_value(v)} for k, v in attrs.items()]


def _otlp_body(spans):
    out = []
    for d in spans:
        span = {"traceId": d["trace_id"], "spanId": d["span_id"], "name": d["name"], "kind": 1,
                "startTimeUnixNano": d["start_time_unix_nano"], "endTimeUnixNano": d["end_time_unix_nano"],
                "attributes": _otlp_attrs(d["attributes"]),
                "events": [{"timeUnixNano": e["time_unix_nano"], "name": e["name"], "attributes": _otlp_attrs(e["attributes"])}
                           for e in d["events"]],
                "droppedEventsCount": d["dropped_events_count"],
                "status": {"code": 2, "message": d["status"]["message"]} if d["status"]["code"] == "ERROR" else {"code": 1}}
        if d["parent_span_id"] is not None:
            span["parentSpanId"] = d["parent_span_id"]
        out.append(span)
    return json.dumps({"resourceSpans": [{"resource": {"attributes": _otlp_attrs(_cfg.resource)},
                                          "scopeSpans": [{"scope": {"name": "code-telemetry-injector", "version": _VERSION},
                                                          "spans": out}]}]}).encode()


class _Exporter:
    """Finished spans wait in a queue; a daemon thread writes them every OTEL_BSP_SCHEDULE_DELAY,
    sooner when a batch is full, and the last ones at exit (atexit, and multiprocessing's
    finalizers in forked children, which skip atexit)."""

    def __init__(self):
        self._reset()
        self.dropped = 0
        self.reason = None
        self.exited = False

    def _reset(self):
        self.queue = collections.deque()
        self.lock = threading.RLock()  # a flush can re-enter: the garbage collector may end a span mid-write
        self.wake = threading.Event()
        self.thread = None
        self.steady = False  # the thread is started and the exporter not closed: add has nothing more to do below a batch

    def add(self, s):
        if "opentelemetry.sdk.trace" in _modules and _to_sdk(s) and _cfg.file is None:
            return
        q = self.queue
        q.append(s)
        self.added(s, len(q))

    def added(self, s, n):
        """After s was queued, as the n-th span: start the thread, wake it, or write."""
        q = self.queue
        if self.thread is None and not self.exited:
            self._start()
        if n >= _cfg.batch:
            if _cfg.file is not None and n >= 8 * _cfg.batch:
                self.flush()  # the writer fell behind: write in the caller rather than grow without bound
            elif _cfg.file is None and n > _cfg.queue:
                try:
                    q.popleft()
                    self.dropped += 1
                except IndexError:
                    pass
            elif not self.wake.is_set():  # Event.set takes a lock and notifies: once per batch is enough
                self.wake.set()
        if self.exited:
            # Past atexit (a generator closed at shutdown, say): written at once, without the lock,
            # which a daemon thread frozen by the interpreter's shutdown may hold for ever.
            # O_APPEND keeps each write whole.
            try:
                q.remove(s)
                self._write([s], 1.0)
            except Exception:
                pass

    def _start(self):
        t = threading.Thread(target=self._loop, name="cti-export", daemon=True)
        self.thread = t
        self.steady = not self.exited
        try:
            t.start()
        except Exception:
            pass

    def _loop(self):
        while not self.exited:
            self.wake.wait(_cfg.delay)
            self.wake.clear()
            if not self.exited:
                self.flush()

    def flush(self, timeout=None):
        with self.lock:
            q = self.queue
            while q:
                batch = []
                try:
                    while len(batch) < _cfg.batch:
                        batch.append(q.popleft())
                except IndexError:
                    pass
                try:
                    self._write(batch, timeout)
                except Exception as e:
                    self.dropped += len(batch)
                    self.reason = self.reason or repr(e)

    def _write(self, spans, timeout):
        if _cfg.file is not None:
            data = _span_lines(spans).encode("utf-8", "surrogatepass")
            fd = os.open(_cfg.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        if _cfg.endpoint is not None and not _sdk_took:
            import urllib.request
            headers = {"Content-Type": "application/json"}
            headers.update(_cfg.headers)
            req = urllib.request.Request(_cfg.endpoint, data=_otlp_body([_span_dict(s) for s in spans]), headers=headers, method="POST")
            try:
                urllib.request.urlopen(req, timeout=timeout or _cfg.timeout).close()
            except Exception as e:
                self.dropped += len(spans)
                self.reason = self.reason or getattr(e, "reason", None) or e

    def final(self):
        if self.exited:
            return
        self.exited = True
        self.steady = False
        self.wake.set()
        self.queue.extend(_unfinished())
        try:
            self.flush(timeout=min(_cfg.timeout, 3.0))
        except Exception:
            pass
        if self.dropped:
            where = _cfg.endpoint or _cfg.file
            try:
                sys.stderr.write("cti: dropped %d spans: receiver %s unreachable (%s)\n" % (self.dropped, where, self.reason))
            except Exception:
                pass

    def after_fork(self):
        # The parent exports what it had queued; open spans inherited from it end in the parent too.
        global _fork_gen
        _fork_gen += 1
        _rng.seed(os.urandom(32))
        self._reset()
        self.exited = False
        self.dropped = 0
        _cfg.resource = dict(_cfg.resource, **{"process.pid": os.getpid()})
        _cfg.set_resource()
        mp = sys.modules.get("multiprocessing.util")
        if mp is not None:
            # multiprocessing's children leave through os._exit (no atexit) after running its
            # finalizers; a Process clears them when it starts, then runs the after-fork hooks.
            try:
                _Exporter._finalize_at_exit(self)
                mp.register_after_fork(self, _Exporter._finalize_at_exit)
            except Exception:
                pass

    def _finalize_at_exit(self):
        sys.modules["multiprocessing.util"].Finalize(None, self.final, exitpriority=-100)


_exporter = _Exporter()
atexit.register(_exporter.final)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_exporter.after_fork)
