"""The hooked program behaves exactly like the original (stdout, stderr with tracebacks, exit code),
on every CPython the machine has, and the spans say what happened."""
import os
import re

import pytest

from conftest import by_name, events, interpreters, version_of

PYTHONS = interpreters()

SCOPING = '''\
# -*- coding: utf-8 -*-
"""Module docstring."""
from __future__ import annotations

import dataclasses
import enum
import inspect


class Color(enum.Enum):
    """Colors."""
    RED = 1
    GREEN = 2

    def label(self):
        return self.name.lower()


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0

    def norm(self) -> int:
        """Manhattan."""
        return abs(self.x) + abs(self.y)


class Base:
    def hello(self, who):
        return "base " + who


class Child(Base):
    __secret = "mangled"

    def hello(self, who):
        return super().hello(who) + " " + self.__secret


counter = 0


def bump():
    global counter
    counter += 1
    return counter


def outer():
    n = 0
    def inner():
        nonlocal n
        n += 1
        return n
    inner(); inner()
    return n


def decorate(f):
    return f


@decorate
def decorated(a, b=2, *rest, key=None, **kw):
    """Doc of decorated."""
    return (a, b, rest, key, kw)


def multiline():
    text = """first
  second
	third"""
    return text


print(list(Color), [c.label() for c in Color], Color.__members__.keys())
print([f.name for f in dataclasses.fields(Point)], Point(3, -4).norm())
print(Child().hello("x"))
print(bump(), bump(), counter, outer())
print(decorated(1, 3, 4, key=5, z=6), decorated.__doc__, __doc__, Point.norm.__doc__)
print(decorated.__code__.co_firstlineno, inspect.getsourcelines(decorated)[1])
print(inspect.getsource(multiline).splitlines()[0], repr(multiline()))
print(sorted(k for k in vars(Color) if not k.startswith("__")), sorted(vars(Point(1)).keys()))
'''

GENERATORS = '''\
import asyncio
import contextvars


def countdown(n):
    while n > 0:
        got = yield n
        n -= 1
    return "done"


def delegate():
    result = yield from countdown(2)
    yield result


async def agen(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def work(x):
    await asyncio.sleep(0)
    return x * 2


async def main():
    results = await asyncio.gather(work(1), work(2))
    items = [i async for i in agen(3)]
    return results, items


g = countdown(5)
print(next(g), g.send("a"), next(g))
g.close()
print(list(delegate()))
print(asyncio.run(main()))
lam = lambda v: v + 1
print(lam(1), [y for x in range(3) if (y := x * 2)])
'''

TRACEBACK = '''\
import sys


class Failure(Exception):
    pass


def level3(d, key):
    return d[key] + 1


def level2(d):
    try:
        return level3(d, "missing")
    except KeyError as e:
        raise Failure("wrapped %s" % e) from e


def level1():
    value = level2({"a": 1})
    return value


def main():
    try:
        level1()
    except Failure as e:
        print("handled", e, file=sys.stderr)
    x = [1, 2, 3]
    return x[5] if len(sys.argv) > 1 else level1()


main()
'''

EXIT = '''\
import atexit
import sys
import threading


def later():
    print("atexit ran")


def worker(out):
    out.append(sum(range(10)))


def main():
    atexit.register(later)
    out = []
    t = threading.Thread(target=worker, args=(out,))
    t.start()
    t.join()
    print(out, __name__, __file__.endswith("main.py"))
    sys.exit(3)


if __name__ == "__main__":
    main()
'''

MATCH = '''\
def describe(value):
    match value:
        case [x, y]:
            return "pair %s %s" % (x, y)
        case {"k": v}:
            return "dict " + str(v)
        case _:
            return "other"


print(describe([1, 2]), describe({"k": 3}), describe(None))
'''

THREADS = '''\
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor, wait


def square(n):
    if n < 0:
        raise ValueError("negative: %d" % n)
    return n * n


def batch(pool, numbers):
    return [pool.submit(square, n) for n in numbers]


def timed():
    done = []
    t = threading.Timer(0.01, lambda: done.append(square(7)))
    t.start()
    t.join()
    return done


def main():
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = batch(pool, [1, 2])
        second = batch(pool, [3, -4])
        wait(first + second)  # else result()'s traceback line depends on timing
        print([f.result() for f in first], second[0].result())
        try:
            second[1].result()
        except ValueError:
            traceback.print_exc()
    print(timed())


with ThreadPoolExecutor(max_workers=1) as pool:
    print(pool.submit(square, 5).result())
main()
'''

PROGRAMS = {"scoping": SCOPING, "generators": GENERATORS, "traceback": TRACEBACK, "exit": EXIT, "match": MATCH,
            "threads": THREADS}


@pytest.mark.parametrize("python", PYTHONS, ids=lambda p: "py%d.%d" % version_of(p))
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_same_behaviour(project, python, name):
    if name == "match" and version_of(python) < (3, 10):
        pytest.skip("match needs 3.10")
    project.write({"main.py": PROGRAMS[name]}).hook()
    plain, spans = project.both(["main.py"], python)
    assert spans, "no spans exported"
    assert all(s["attributes"]["code.file.path"] == "main.py" for s in spans)
    if name == "traceback":
        assert plain.returncode == 1 and "Traceback" in plain.stderr


def test_spans_of_scoping(project):
    project.write({"main.py": SCOPING}).hook()
    _, spans = project.both(["main.py"])
    names = {s["name"] for s in spans}
    assert {"Color.label", "Point.norm", "Child.hello", "Base.hello", "bump", "outer", "outer.<locals>.inner", "decorated", "multiline"} <= names
    lines = SCOPING.splitlines()
    for s in spans:
        line = s["attributes"]["code.line.number"]
        assert lines[line - 1].lstrip().startswith("def " + s["name"].rsplit(".", 1)[-1] + "("), s["name"]
    child = by_name(spans, "Child.hello")[0]
    base = by_name(spans, "Base.hello")[0]
    assert base["parent_span_id"] == child["span_id"] and base["trace_id"] == child["trace_id"]
    assert child["attributes"]["cti.return"] == '"base x mangled"'
    inner = by_name(spans, "outer.<locals>.inner")
    bump_line = lines.index("        n += 1") + 1
    assert [events(s, "cti.var") for s in inner] == [[("n", "1", bump_line)], [("n", "2", bump_line)]]
    d = by_name(spans, "decorated")[0]["attributes"]
    assert (d["cti.arg.a"], d["cti.arg.rest"], d["cti.arg.key"], d["cti.arg.kw"]) == ("1", "(4,)", "5", '{"z": 6}')


def test_spans_of_generators_and_async(project):
    project.write({"main.py": GENERATORS}).hook()
    _, spans = project.both(["main.py"])
    gens = by_name(spans, "countdown")
    closed = gens[0]
    assert closed["status"] == {"code": "OK"}  # close() is not an error
    assert [e[0] for e in events(closed, "cti.var")] == ["got", "n", "got", "n"]
    # A `yield from` delegate runs for whoever drives the outer generator (here: module level).
    delegated = gens[1]
    assert delegated["attributes"]["cti.return"] == '"done"' and "cti.return" not in closed["attributes"]
    main = by_name(spans, "main")[0]
    works = by_name(spans, "work")
    assert len(works) == 2 and all(w["parent_span_id"] == main["span_id"] for w in works)
    agen = by_name(spans, "agen")[0]
    assert agen["parent_span_id"] == main["span_id"]
    assert events(agen, "cti.loop") == [("for", 18, 3)]


def test_spans_of_exceptions(project):
    project.write({"main.py": TRACEBACK}).hook()
    plain, spans = project.both(["main.py"])
    l3 = by_name(spans, "level3")
    assert all(s["status"] == {"code": "ERROR", "message": "KeyError: 'missing'"} for s in l3)
    exc = [e for e in l3[0]["events"] if e["name"] == "exception"][0]["attributes"]
    assert exc["exception.type"] == "KeyError" and 'line 9, in level3' in exc["exception.stacktrace"]
    l2 = by_name(spans, "level2")[0]
    assert events(l2, "cti.var") == [("e", "KeyError: missing", 15)]
    main = by_name(spans, "main")[0]
    assert main["status"]["message"] == "Failure: wrapped 'missing'" and main["parent_span_id"] is None
    assert [e[0] for e in events(main, "cti.branch")] == ["ternary else"]
    assert 'File "%s", line 9, in level3' % os.path.join(project.root, "main.py") in plain.stderr
    # main's stack is what Python printed, chain included, from main's frame down (no <module>
    # frame; no 3.11+ caret lines, which are not kept).
    printed = [line for line in plain.stderr.splitlines()[1:] if not re.fullmatch(r"\s*[~^]+\s*", line)]
    at = next(i for i, line in enumerate(printed) if line.endswith(", in <module>"))
    del printed[at:at + 2]
    stack = [e for e in main["events"] if e["name"] == "exception"][0]["attributes"]["exception.stacktrace"]
    assert stack.splitlines() == printed


def test_exit_code_threads_atexit(project):
    project.write({"main.py": EXIT}).hook()
    plain, spans = project.both(["main.py"])
    assert plain.returncode == 3 and "atexit ran" in plain.stdout
    worker = by_name(spans, "worker")[0]
    main = by_name(spans, "main")[0]
    assert (worker["parent_span_id"], worker["trace_id"]) == (main["span_id"], main["trace_id"])  # the thread's creator
    assert main["status"] == {"code": "ERROR", "message": "SystemExit: 3"}


def test_parents_across_threads(project):
    """A thread's calls nest under the span that created the thread, a pool task's under the span
    that submitted it (not the one that started the pool's thread); a task submitted outside any
    span is a root."""
    project.write({"main.py": THREADS}).hook()
    plain, spans = project.both(["main.py"])
    assert "ValueError: negative: -4" in plain.stderr
    main = by_name(spans, "main")[0]
    batches = by_name(spans, "batch")
    timed = by_name(spans, "timed")[0]
    squares = {s["attributes"]["cti.arg.n"]: s for s in by_name(spans, "square")}
    assert squares["5"]["parent_span_id"] is None
    assert all(b["parent_span_id"] == main["span_id"] for b in batches)
    for n, b in (("1", 0), ("2", 0), ("3", 1), ("-4", 1)):
        assert squares[n]["parent_span_id"] == batches[b]["span_id"], n
        assert squares[n]["trace_id"] == main["trace_id"]
    assert squares["-4"]["status"] == {"code": "ERROR", "message": "ValueError: negative: -4"}
    assert squares["7"]["parent_span_id"] == timed["span_id"]


DAEMON = '''\
import threading
import time

started = threading.Event()


def poll(interval):
    started.set()
    while True:
        time.sleep(interval)


def watch():
    poll(0.01)


def main():
    threading.Thread(target=watch, daemon=True).start()
    started.wait()
    return "bye"


print(main())
'''


def test_calls_running_at_exit_are_unfinished(project):
    """A daemon thread's calls still running when the process exits are exported once, marked
    cti.unfinished, under the span that started the thread."""
    project.write({"main.py": DAEMON}).hook()
    plain, spans = project.both(["main.py"])
    assert plain.stdout == "bye\n"
    main = by_name(spans, "main")[0]
    assert main["attributes"]["cti.return"] == '"bye"' and "cti.unfinished" not in main["attributes"]
    watch, poll = by_name(spans, "watch"), by_name(spans, "poll")
    assert len(watch) == 1 and len(poll) == 1
    assert watch[0]["parent_span_id"] == main["span_id"] and poll[0]["parent_span_id"] == watch[0]["span_id"]
    for s in watch + poll:
        assert s["attributes"]["cti.unfinished"] is True and "cti.return" not in s["attributes"]
        assert s["status"] == {"code": "OK"}
    assert events(poll[0], "cti.loop") == [("while", 9, events(poll[0], "cti.loop")[0][2])]
