"""The import hook: which files it takes, its cache, CTI_ON_MISS, entry points and processes."""
import glob
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from conftest import by_name, events, interpreters, version_of

PYTHONS = interpreters()

PKG = {
    "pkg/__init__.py": "",
    "pkg/__main__.py": "from pkg.core import double\nprint('main', double(21))\n",
    "pkg/core.py": "def double(x):\n    return x * 2\n",
    "app.py": "import pkg.core\nprint(pkg.core.double(2))\n",
}


def files_under(root):
    return sorted(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "**", "*"), recursive=True))


def test_nothing_written_into_the_source_tree_and_pyc_cached(project):
    project.write(PKG).hook()
    before = files_under(project.root)
    project.both(["app.py"])
    project.both(["-m", "pkg"])
    assert files_under(project.root) == before
    pycs = glob.glob(os.path.join(project.boot, "cache", "pyc", "*", "*", "*.pyc"))
    assert len(pycs) == 4  # app.py, pkg/__init__.py, pkg/__main__.py, pkg/core.py
    assert [s["name"] for s in project.spans()] == ["double"]


def test_python_dash_m_and_reload(project):
    project.write(dict(PKG, **{"reload.py": (
        "import importlib, pkg.core\n"
        "open(pkg.core.__file__, 'a').write('\\ndef triple(x):\\n    return x * 3\\n')\n"
        "importlib.reload(pkg.core)\n"
        "print(pkg.core.triple(2), type(pkg.core.__loader__).__name__)\n")})).hook()
    plain, spans = project.both(["-m", "pkg"])
    assert plain.stdout == "main 42\n"
    assert by_name(spans, "double")[0]["attributes"]["code.file.path"] == "pkg/core.py"
    # A reloaded, edited module is a cache miss: by default it runs uninstrumented (and is recorded).
    r = project.run(["reload.py"])
    assert r.returncode == 0 and r.stdout.startswith("6 CtiLoader"), r.stderr
    with open(os.path.join(project.boot, "cache", "misses.txt")) as f:
        assert f.read() == "pkg/core.py\n"


def test_on_miss_error_and_sync(project):
    project.write(PKG).hook()
    project.write({"pkg/core.py": "def double(x):\n    return x + x\n"})
    r = project.run(["app.py"], env={"CTI_ON_MISS": "error"})
    assert r.returncode == 1 and "ImportError: cti: pkg/core.py changed since `cti py hook` ran" in r.stderr
    r = project.run(["app.py"], env={"CTI_ON_MISS": "sync"})
    assert r.returncode == 0 and r.stdout == "4\n", r.stderr
    assert [s["name"] for s in project.spans()] == ["double"]
    r = project.run(["app.py"], env={"CTI_ON_MISS": "error"})  # now in the cache
    assert r.returncode == 0


def test_corrupt_and_read_only_cache(project):
    project.write(PKG).hook()
    project.both(["app.py"])
    for pyc in glob.glob(os.path.join(project.boot, "cache", "pyc", "*", "*", "*.pyc")):
        with open(pyc, "r+b") as f:
            f.seek(20)
            f.write(b"\xff\xff\xff")
    _, spans = project.both(["app.py"])
    assert [s["name"] for s in spans] == ["double"]
    for pyc in glob.glob(os.path.join(project.boot, "cache", "pyc", "*", "*", "*.pyc")):
        with open(pyc, "wb") as f:
            f.write(b"junk")
    cache = os.path.join(project.boot, "cache")
    for d, _, fs in os.walk(cache):
        os.chmod(d, 0o555)
    try:
        _, spans = project.both(["app.py"])
        assert [s["name"] for s in spans] == ["double"]
    finally:
        for d, _, fs in os.walk(cache):
            os.chmod(d, 0o755)


def test_unparsable_file_passes_through(project):
    project.write({"bad.py": "def f(:\n    pass\n", "app.py": "import bad\n"})
    p = project.hook()
    assert "bad.py:1: error:" in p.stderr and "passed through uninstrumented" in p.stderr
    plain, _ = project.both(["app.py"])
    assert "SyntaxError" in plain.stderr


def test_encodings_and_line_ends(project):
    project.write({
        "latin.py": "# -*- coding: latin-1 -*-\ndef caf\xe9():\n    return 'caf\xe9'\n".encode("latin-1"),
        "crlf.py": b"def crlf(a):\r\n    if a:\r\n        return 'yes'\r\n    raise ValueError(a)\r\n",
        "app.py": "from latin import caf\u00e9\nfrom crlf import crlf\nprint(caf\u00e9(), crlf(1))\ncrlf(0)\n",
    }).hook()
    plain, spans = project.both(["app.py"])
    assert plain.stdout == "caf\u00e9 yes\n" and "line 4, in crlf" in plain.stderr and "raise ValueError(a)" in plain.stderr
    assert by_name(spans, "caf\u00e9")[0]["attributes"]["cti.return"] == '"caf\u00e9"'


def test_venvs_site_packages_and_boot_dir_are_left_alone(project):
    project.write({
        ".venv/lib/site.py": "def hidden():\n    return 1\n",
        "env/pyvenv.cfg": "home = /usr\n",
        "env/lib/venvmod.py": "def venv_fn():\n    return 1\n",
        "lib/site-packages/sp.py": "def sp_fn():\n    return 1\n",
        "app.py": ("import sys\nsys.path[:0] = ['env/lib', 'lib/site-packages']\n"
                   "import venvmod, sp\n\ndef mine():\n    return venvmod.venv_fn() + sp.sp_fn()\n\nprint(mine())\n"),
    })
    p = project.hook()
    assert "1 files (1 instrumented" in p.stderr
    _, spans = project.both(["app.py"])
    assert [s["name"] for s in spans] == ["mine"]


def test_chain_loads_another_sitecustomize(project, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import builtins\nbuiltins.OTHER_SITE = 'loaded'\n")
    project.write({"app.py": "def f():\n    return OTHER_SITE\nprint(f())\n"}).hook()
    r = project.run(["app.py"], env={"PYTHONPATH": project.boot + os.pathsep + str(other)})
    assert r.stdout == "loaded\n", r.stderr
    assert by_name(project.spans(), "f")[0]["attributes"]["cti.return"] == '"loaded"'


def test_ids_survive_random_seed_and_redaction_and_event_cap(project):
    project.write({"app.py": (
        "import random\n\n"
        "def login(user, password):\n    token = 'abc'\n    return len(token)\n\n"
        "def busy(n):\n    total = 0\n    for i in range(n):\n        total += i\n    return total\n\n"
        "for _ in range(3):\n    random.seed(0)\n    login('ann', 's3cret')\n"
        "busy(1000000)\n")}).hook()
    _, spans = project.both(["app.py"])
    logins = by_name(spans, "login")
    assert len({s["span_id"] for s in logins}) == 3 and len({s["trace_id"] for s in logins}) == 3
    assert logins[0]["attributes"]["cti.arg.password"] == "[REDACTED]"
    assert logins[0]["attributes"]["cti.arg.user"] == '"ann"'
    assert events(logins[0], "cti.var") == [("token", "[REDACTED]", 4)]
    busy = by_name(spans, "busy")[0]
    assert len(busy["events"]) == 128 and busy["dropped_events_count"] == 2000001 - 127
    assert events(busy, "cti.loop") == [("for", 9, 1000000)]


@pytest.mark.parametrize("python", PYTHONS, ids=lambda p: "py%d.%d" % version_of(p))
def test_multiprocessing_fork_spawn_forkserver(project, python):
    prog = (
        "import multiprocessing as mp\n\n"
        "def square(x):\n    return x * x\n\n"
        "def run(method):\n    pool = mp.get_context(method).Pool(2)\n    result = pool.map(square, [1, 2, 3])\n"
        "    pool.close()\n    pool.join()\n    return result\n\n"
        "if __name__ == '__main__':\n    print(run('fork'), run('spawn'), run('forkserver'))\n")
    project.write({"app.py": prog}).hook()
    _, spans = project.both(["app.py"], python)
    runs = by_name(spans, "run")
    assert [r["attributes"]["cti.arg.method"] for r in runs] == ['"fork"', '"spawn"', '"forkserver"']
    squares = by_name(spans, "square")
    # Every worker exports its own spans when it exits (no duplicates of the parent's). Forked
    # workers inherit the instrumented __main__ and the current span; spawned and forkserver
    # workers run the instrumented __main__ again and start their own traces. (A worker killed by
    # Pool.terminate() before its last flush loses its spans: a known limit.)
    assert len(squares) == 9 and len({s["span_id"] for s in spans}) == len(spans)
    pids = {s["resource"]["process.pid"] for s in squares}
    assert len(pids) >= 3 and not pids & {runs[0]["resource"]["process.pid"]}
    assert sorted(s["attributes"]["cti.return"] for s in squares) == sorted(["1", "4", "9"] * 3)
    assert sum(s["trace_id"] == runs[0]["trace_id"] for s in squares) == 3
    assert all(s["parent_span_id"] is None for s in squares if s["trace_id"] != runs[0]["trace_id"])


class _Collector(BaseHTTPRequestHandler):
    bodies = []

    def do_POST(self):
        self.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_otlp_http_export_and_receiver_down(project):
    project.write({"app.py": "def f(x):\n    return x + 1\nprint(f(1))\n"}).hook()
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d" % server.server_port
        r = project.run(["app.py"], env={"CTI_TRACES_FILE": "", "OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_SERVICE_NAME": "svc"})
        assert r.returncode == 0 and r.stdout == "2\n" and r.stderr == ""
    finally:
        server.shutdown()
    body = _Collector.bodies[0]["resourceSpans"][0]
    assert {"key": "service.name", "value": {"stringValue": "svc"}} in body["resource"]["attributes"]
    span = body["scopeSpans"][0]["spans"][0]
    assert span["name"] == "f" and span["kind"] == 1 and span["status"] == {"code": 1}
    assert {"key": "cti.return", "value": {"stringValue": "2"}} in span["attributes"]
    # Nobody listening: the program is not slowed down or broken; one line at exit says what was lost.
    start = time.time()
    r = project.run(["app.py"], env={"CTI_TRACES_FILE": "", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert r.returncode == 0 and r.stdout == "2\n" and time.time() - start < 10
    assert r.stderr.startswith("cti: dropped 1 spans: receiver http://127.0.0.1:9/v1/traces unreachable")


def test_readme_python_section(tmp_path):
    """The README's commands, on playground/python-sample."""
    from conftest import CLI, NODE, REPO
    sample = os.path.join(REPO, "playground", "python-sample")
    boot = str(tmp_path / "cti-py")
    p = subprocess.run([NODE, CLI, "py", "hook", "--root", sample, "--out", boot], capture_output=True, text=True)
    assert p.returncode == 0 and "2 files (2 instrumented" in p.stderr, p.stderr
    base = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"}
    plain = subprocess.run([sys.executable, os.path.join(sample, "app.py")], capture_output=True, text=True, env=base)
    traces = str(tmp_path / "spans.jsonl")
    hooked = subprocess.run([sys.executable, os.path.join(sample, "app.py")], capture_output=True, text=True,
                            env=dict(base, PYTHONPATH=boot, CTI_TRACES_FILE=traces))
    assert (hooked.stdout, hooked.stderr, hooked.returncode) == (plain.stdout, plain.stderr, 0)
    with open(traces) as f:
        spans = [json.loads(line) for line in f]
    checkouts = by_name(spans, "checkout")
    assert [s["status"]["code"] for s in checkouts] == ["OK", "ERROR"]
    assert checkouts[0]["attributes"]["cti.return"] == "24"
    assert checkouts[1]["status"]["message"] == "OutOfStock: pear"
    total = by_name(spans, "Cart.total")[0]
    assert total["parent_span_id"] == checkouts[0]["span_id"]
    assert events(total, "cti.loop") == [("for", 19, 2)]
    main = by_name(spans, "main")[0]
    assert main["parent_span_id"] is None and checkouts[0]["parent_span_id"] == main["span_id"]
    assert not glob.glob(os.path.join(sample, "**", "__pycache__"), recursive=True)


@pytest.fixture(scope="module")
def otel_python(tmp_path_factory):
    """A virtualenv with the OpenTelemetry SDK (pip-installed from PyPI)."""
    venv = tmp_path_factory.mktemp("otel") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    p = subprocess.run([python, "-m", "pip", "install", "--quiet", "opentelemetry-sdk==1.45.2"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return python


def test_joins_the_applications_opentelemetry_trace(project, otel_python):
    project.write({"app.py": (
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n\n"
        "def work(n):\n    return n * 2\n\n"
        "trace.set_tracer_provider(TracerProvider())\n"
        "tracer = trace.get_tracer('app')\n"
        "with tracer.start_as_current_span('request') as span:\n"
        "    ctx = span.get_span_context()\n"
        "    print(work(2), '%032x' % ctx.trace_id, '%016x' % ctx.span_id)\n"
        "print(work(3))\n")}).hook()
    r = project.run(["app.py"], python=otel_python)  # ids differ from run to run: no side-by-side here
    assert r.returncode == 0, r.stderr
    spans = project.spans()
    _, trace_id, span_id = r.stdout.split("\n")[0].split()
    inside, outside = by_name(spans, "work")
    assert (inside["trace_id"], inside["parent_span_id"]) == (trace_id, span_id)
    assert outside["parent_span_id"] is None and outside["trace_id"] != trace_id


def test_touched_file_is_still_a_hit(project):
    """A hit is trusted on the file's mtime and size (as CPython trusts its .pyc); a touched file
    with the same content is checked by its hash, still a hit, and stamped again."""
    project.write(PKG).hook()
    project.both(["app.py"])
    core = os.path.join(project.root, "pkg", "core.py")
    st = os.stat(core)
    os.utime(core, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    _, spans = project.both(["app.py"])
    assert [s["name"] for s in spans] == ["double"]
    stamp = (st.st_mtime_ns + 10 ** 9).to_bytes(8, "little") + st.st_size.to_bytes(8, "little")
    heads = [open(p, "rb").read(20)[4:] for p in glob.glob(os.path.join(project.boot, "cache", "pyc", "*", "*", "*.pyc"))]
    assert stamp in heads
    assert not os.path.exists(os.path.join(project.boot, "cache", "misses.txt"))


SDK_APP = '''\
import json
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult


class ToFile(SpanExporter):
    def export(self, spans):
        with open(sys.argv[1], "a") as f:
            for s in spans:
                f.write(json.dumps({
                    "name": s.name, "trace": "%032x" % s.context.trace_id, "span": "%016x" % s.context.span_id,
                    "parent": "%016x" % s.parent.span_id if s.parent else None, "scope": s.instrumentation_scope.name,
                    "service": s.resource.attributes["service.name"], "attrs": dict(s.attributes),
                    "events": [e.name for e in s.events], "status": s.status.status_code.name}) + "\\n")
        return SpanExportResult.SUCCESS


def inner(n):
    if n > 2:
        raise ValueError("big")
    return n + 1


def work(n):
    try:
        return inner(n) * 2
    except ValueError:
        return -1


provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
provider.add_span_processor(SimpleSpanProcessor(ToFile()))
trace.set_tracer_provider(provider)
with trace.get_tracer("app").start_as_current_span("request"):
    print(work(1), work(5))
'''


def test_spans_go_through_the_applications_sdk(project, otel_python):
    """With an SDK provider set by the application, cti's spans go to its span processors (with
    cti's ids, under the application's span, with its resource) and cti sends none itself."""
    project.write({"app.py": SDK_APP}).hook()
    out = os.path.join(project.base, "sdk.jsonl")
    r = project.run(["app.py", out], python=otel_python, env={"CTI_TRACES_FILE": "", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert (r.returncode, r.stdout, r.stderr) == (0, "4 -1\n", "")  # nothing sent to (or dropped at) port 9
    with open(out) as f:
        spans = [json.loads(line) for line in f]
    request = [s for s in spans if s["name"] == "request"][0]
    works = [s for s in spans if s["name"] == "work"]
    inners = [s for s in spans if s["name"] == "inner"]
    assert len(works) == 2 and len(inners) == 2
    for w in works:
        assert (w["trace"], w["parent"], w["scope"], w["service"]) == (request["trace"], request["span"], "code-telemetry-injector", "shop")
        assert w["attrs"]["code.file.path"] == "app.py" and w["attrs"]["cti.lang"] == "python"
    assert sorted(i["parent"] for i in inners) == sorted(w["span"] for w in works)
    failed = [i for i in inners if i["status"] == "ERROR"][0]
    assert failed["events"] == ["cti.branch", "exception"] and failed["attrs"]["cti.arg.n"] == "5"
    assert not os.path.exists(project.traces)
    assert not [s for s in spans if s["name"] == "ToFile.export"]  # the SDK exporting: instrumentation suppressed


NEST_APP = '''\
import asyncio
import concurrent.futures
import json
import sys
import threading

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

memory = InMemorySpanExporter()  # the SDK's own code: not instrumented, so no spans of its own
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(memory))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("app")


def h(n):
    return n + 1


def g(n):
    with tracer.start_as_current_span("C"):
        return h(n) * 2


def worker(n, out):
    with tracer.start_as_current_span("W"):
        out.append(h(n))


def f(n):
    with tracer.start_as_current_span("B"):
        r = g(n)
    trace.get_current_span().set_attribute("seen", r)  # lands where it did without cti
    out = [trace.get_current_span().name]  # the SDK span's own field, as without cti
    t = threading.Thread(target=worker, args=(n, out))
    t.start()
    t.join()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        out.append(pool.submit(pooled, n).result())
    return r, out


def pooled(n):
    with tracer.start_as_current_span("P"):
        return h(n)


async def step(n):
    with tracer.start_as_current_span("T%d" % n):
        await asyncio.sleep(0)
        return g(n)


async def fan():
    return await asyncio.gather(step(1), step(2))


if sys.argv[2] == "chain":
    with tracer.start_as_current_span("A"):
        print(f(1))
else:
    with tracer.start_as_current_span("R"):
        print(asyncio.run(fan()))
spans = memory.get_finished_spans()
print(sorted(s.name for s in spans if s.attributes.get("seen")))
with open(sys.argv[1], "w") as out:
    for s in spans:
        out.write(json.dumps({"name": s.name, "trace": s.context.trace_id, "span": s.context.span_id,
                              "parent": s.parent.span_id if s.parent else None}) + "\\n")
'''


def nest_run(project, otel_python, case):
    """NEST_APP plain and hooked (same output, the application's attributes on the same span);
    the hooked run's spans as the SDK got them."""
    project.write({"app.py": NEST_APP}).hook()
    out = os.path.join(project.base, "sdk.jsonl")
    plain, _ = project.both(["app.py", out, case], python=otel_python)
    assert plain.returncode == 0, plain.stderr
    with open(out) as f:
        return [json.loads(line) for line in f]


def parent_of(spans, name):
    """The name of the parent of the only span called name (all in one trace)."""
    [span] = [s for s in spans if s["name"] == name]
    [parent] = [s for s in spans if s["span"] == span["parent"]]
    assert span["trace"] == parent["trace"]
    return parent["name"]


def test_application_spans_and_cti_spans_nest_both_ways(project, otel_python):
    """A (app) > f (cti) > B (app) > g (cti) > C (app) > h (cti), and a thread and a pool's task in f."""
    spans = nest_run(project, otel_python, "chain")
    assert len({s["trace"] for s in spans}) == 1
    chain = {"f": "A", "B": "f", "g": "B", "C": "g", "worker": "f", "W": "worker", "pooled": "f", "P": "pooled"}
    assert {name: parent_of(spans, name) for name in chain} == chain
    hs = [s for s in spans if s["name"] == "h"]
    parents = {s["span"]: s["name"] for s in spans}
    assert sorted(parents[s["parent"]] for s in hs) == ["C", "P", "W"]
    assert [s["parent"] for s in spans if s["name"] == "A"] == [None]


def test_application_spans_and_cti_spans_nest_across_asyncio_tasks(project, otel_python):
    """R (app) > fan (cti) > step (cti, one per task) > T1/T2 (app) > g (cti) > C (app) > h (cti)."""
    spans = nest_run(project, otel_python, "async")
    assert len({s["trace"] for s in spans}) == 1
    parents = {s["span"]: s for s in spans}
    assert parent_of(spans, "fan") == "R"
    for task in ("T1", "T2"):
        [t] = [s for s in spans if s["name"] == task]
        step = parents[t["parent"]]
        assert step["name"] == "step" and parents[step["parent"]]["name"] == "fan"
        [g] = [s for s in spans if s["parent"] == t["span"]]
        [c] = [s for s in spans if s["parent"] == g["span"]]
        [h] = [s for s in spans if s["parent"] == c["span"]]
        assert (g["name"], c["name"], h["name"]) == ("g", "C", "h")
