"""Helpers for the Python side: run a project as written and under the `cti py hook` import hook."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(REPO, "bin", "cti.js")
NODE = shutil.which("node") or "node"


def interpreters():
    """Every CPython 3.9+ the machine has (pyenv's too); CTI_PYTHONS=path:path overrides."""
    if os.environ.get("CTI_PYTHONS"):
        return os.environ["CTI_PYTHONS"].split(os.pathsep)
    found = {sys.executable}
    pattern = os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")
    for exe in sorted(glob.glob(pattern)):
        v = os.path.basename(os.path.dirname(os.path.dirname(exe)))
        major, minor = (int(x) for x in v.split(".")[:2])
        if (major, minor) >= (3, 9) and "t" not in v.split(".")[1]:
            found.add(exe)
    return sorted(found)


def version_of(python):
    out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True)
    return tuple(int(x) for x in out.stdout.strip().split("."))


class Project:
    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, "project")
        self.boot = os.path.join(base, "boot")
        self.traces = os.path.join(base, "spans.jsonl")
        os.makedirs(self.root)

    def write(self, files):
        for name, text in files.items():
            path = os.path.join(self.root, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            mode = "wb" if isinstance(text, bytes) else "w"
            with open(path, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as f:
                f.write(text)
        return self

    def hook(self, *extra):
        p = subprocess.run([NODE, CLI, "py", "hook", "--out", self.boot, "--root", self.root, *extra],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return p

    def run(self, args, python=None, hooked=True, env=None, cwd=None, timeout=120):
        e = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), "PYTHONDONTWRITEBYTECODE": "1"}
        if hooked:
            e["PYTHONPATH"] = self.boot
            e["CTI_TRACES_FILE"] = self.traces
        e.update(env or {})
        return subprocess.run([python or sys.executable, *args], cwd=cwd or self.root, env=e, capture_output=True,
                              text=True, timeout=timeout)

    def spans(self):
        if not os.path.exists(self.traces):
            return []
        with open(self.traces, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def both(self, args, python=None, env=None):
        """Runs the program plain and hooked; asserts identical stdout, stderr and exit code."""
        if os.path.exists(self.traces):
            os.unlink(self.traces)
        plain = self.run(args, python, hooked=False, env=env)
        hooked = self.run(args, python, hooked=True, env=env)
        assert (hooked.stdout, hooked.stderr, hooked.returncode) == (plain.stdout, plain.stderr, plain.returncode)
        return plain, self.spans()


@pytest.fixture
def project():
    base = tempfile.mkdtemp(prefix="cti-py-")
    yield Project(base)
    if not os.environ.get("CTI_KEEP_TMP"):
        shutil.rmtree(base, ignore_errors=True)


def by_name(spans, name):
    return [s for s in spans if s["name"] == name]


def events(span, kind):
    return [tuple(e["attributes"].values()) for e in span["events"] if e["name"] == kind]
