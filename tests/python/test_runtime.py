"""The runtime on its own: previews, the JSONL encoding, the event cap."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src", "py-import-hook"))
import _cti_rt as rt  # noqa: E402


def preview(v):
    return rt._value("v", v)


def test_mutable_values_are_previewed_when_captured():
    rt.configure({})
    rt._on = True
    try:
        m = rt.module("m.py")
        items = [1]
        s = m.enter(("f", 1, ("items", "n")), items, 7)
        m.v(s, "items", items, 2)
        items.append(2)
        m.ret(s, items)
        rt._current.set(None)
        s.end = s.start
        d = rt._span_dict(s)
        assert (d["attributes"]["cti.arg.items"], d["attributes"]["cti.arg.n"], d["attributes"]["cti.return"]) == ("[1]", "7", "[1, 2]")
        assert d["events"][0]["attributes"]["cti.var.value"] == "[1]"
    finally:
        rt.configure({})


def test_previews_are_bounded_and_run_no_program_code():
    class Loud:
        def __init__(self):
            self.a = 1
            self.b = [1, 2]

        def __repr__(self):
            raise AssertionError("repr must not run")

        @property
        def c(self):
            raise AssertionError("property must not run")

    class Guarded:
        def __getattribute__(self, name):
            raise AssertionError("__getattribute__ must not run")

    assert preview("alice") == '"alice"' and preview('a"b') == '"a\\"b"'
    assert [preview(v) for v in (42, 1.5, True, None)] == ["42", "1.5", "True", "None"]
    assert preview([1, "x", [2]]) == '[1, "x", […]]' and preview((1,)) == "(1,)" and preview({"k": {1: 2}}) == '{"k": {…}}'
    assert preview(list(range(100))) == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, …]"
    assert preview(Loud()).endswith("Loud(a=1, b=[…])")
    assert preview(Guarded()).endswith("Guarded")
    assert preview(KeyError("k")) == "KeyError: k"
    assert len(preview("x" * 1000)) == 120 and preview("x" * 1000).endswith("\u2026")
    assert rt._value("api_key", "s") == "[REDACTED]" and rt._value("user", "s") == '"s"'


def test_jsonl_line_is_the_json_of_the_span():
    rt.configure({})
    rt._on = True
    try:
        m = rt.module("a/b.py")
        s = m.enter(("f.<locals>.g", 3, ("a", "password", "k")), "x\u00e9\"\n", 2, {"k": [1, 2]})
        m.v(s, "y", 1.5, 4)
        m.b(s, "if", 5)
        m.l(s, 0, "for", 6)
        m.l(s, 0, "for", 6)
        m.ret(s, None)
        try:
            raise ValueError("bad \u2603")
        except ValueError as e:
            m.fail(s, e)
        rt._current.set(None)
        s.end = s.start + 5
        line = rt._span_line(s)
        assert line == json.dumps(rt._span_dict(s), ensure_ascii=False, separators=(",", ":")) + "\n"
        d = json.loads(line)
        assert d["attributes"]["cti.arg.password"] == "[REDACTED]"
        assert [e["name"] for e in d["events"]] == ["cti.var", "cti.branch", "cti.loop", "exception"]
        assert d["events"][2]["attributes"]["cti.loop.iterations"] == 2
        assert d["status"] == {"code": "ERROR", "message": "ValueError: bad \u2603"}
    finally:
        rt.configure({})


def test_event_cap_keeps_the_exception():
    rt.configure({"limits": {"eventsPerSpan": 3, "valueLength": 120}})
    rt._on = True
    try:
        m = rt.module("m.py")
        s = m.enter(("f", 1, ()))
        for i in range(5):
            m.v(s, "i", i, 2)
        m.fail(s, RuntimeError("x"))
        rt._current.set(None)
        s.end = s.start
        assert [e["name"] for e in rt._span_dict(s)["events"]] == ["cti.var", "cti.var", "exception"] and s.dropped == 3
    finally:
        rt.configure({})
