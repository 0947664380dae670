"""A real third-party project's own test suite passes under the hook exactly as without it.

more-itertools (pure Python, generator-heavy) comes from PyPI as an sdist, which ships its tests.
Its library and test modules are instrumented; the suite runs plain and hooked, and every test's
outcome must be the same (one allocation-measuring test excepted, see below). Traces are sampled
(1%): the suite makes tens of millions of calls.
"""
import os
import re
import subprocess
import sys
import tarfile

import pytest

from conftest import Project

PACKAGE = "more-itertools==11.2.1"


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    where = tmp_path_factory.mktemp("sdist")
    p = subprocess.run([sys.executable, "-m", "pip", "download", PACKAGE, "--no-binary", ":all:", "--no-deps",
                        "--quiet", "-d", str(where)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail("pip download %s failed: %s" % (PACKAGE, p.stderr))
    archive = next(where.glob("*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(where)
    return next(d for d in where.iterdir() if d.is_dir())


def outcomes(output):
    """`test_x (tests.test_more.C.test_x) ... ok` lines, sorted; timings left out."""
    return sorted(line for line in output.splitlines() if re.search(r" \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure)$", line))


def unittest_id(outcome):
    """`tests.test_more.C.test_x` from an outcome line (3.11+ prints it in parentheses; 3.9 prints the class)."""
    m = re.match(r"(\w+) \(([\w.]+?)(?:\.\1)?\)", outcome)
    return "%s.%s" % (m.group(2), m.group(1))


def test_more_itertools_suite(sdist, tmp_path):
    project = Project(str(tmp_path))
    project.root = str(sdist)
    hook = project.hook()
    assert re.search(r"\d+ files \(\d+ instrumented", hook.stderr)
    args = ["-m", "unittest", "discover", "-v", "-s", "tests", "-t", "."]
    sampled = {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.01"}
    plain = project.run(args, hooked=False, timeout=1200)
    hooked = project.run(args, env=sampled, timeout=1200)
    assert plain.returncode == 0 and hooked.returncode in (0, 1), hooked.stderr[-3000:]
    expected = outcomes(plain.stderr)
    assert len(expected) > 900
    got = outcomes(hooked.stderr)
    assert len(got) == len(expected)
    # The one known difference: this test measures allocations with tracemalloc, and when its trace
    # is sampled the spans waiting for export (and the arguments' previews) count as retained
    # memory (docs/telemetry.md, "Known limits (Python)").
    allocation_test = "test_repeated_zero_cache_peek_has_bounded_memory"
    assert sum(allocation_test in o for o in got) == 1
    # A few of its tests race threads or clocks (time_limited(0.1), callback_iter's waits): on a slow,
    # loaded machine one can fail once. A test that differs is run alone again, hooked, up to three
    # times, and must then give the plain outcome; a real difference gives it every time.
    # Only differing lines are reported: a full list diff is megabytes (pytest does not truncate under CI).
    differing = sorted({unittest_id(o) for o in set(got) ^ set(expected) if allocation_test not in o})
    still = []
    for test in differing:
        want = [o for o in expected if unittest_id(o) == test]
        if not any(outcomes(project.run(["-m", "unittest", "-v", test], env=sampled, timeout=300).stderr) == want for _ in range(3)):
            still.append((test, want, [o for o in got if unittest_id(o) == test]))
    assert still == [], hooked.stderr[-3000:]
    if differing:
        print("passed when run again alone (timing):", ", ".join(differing))
    paths = {s["attributes"]["code.file.path"] for s in project.spans()}
    assert "more_itertools/more.py" in paths
