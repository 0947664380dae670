"""cti import hook (stdlib only): runs the instrumented copies that `cti py hook` put in the cache.

A meta path finder claims the project's own modules (never the standard library, site-packages or
a virtualenv) and gives them a SourceFileLoader subclass whose get_code returns the instrumented
code; the entry script (`python app.py` does not go through the import system) is taken over
at the `cpython.run_file` audit event. Tracebacks show the original files and lines: code is
compiled with the original path after every node was moved back to its original position.
"""
import _imp
import importlib.machinery
import importlib.util
import json
import marshal
import os
import sys

try:  # the bare C module imports in a fraction of hashlib's time (startup counts)
    from _sha2 import sha256 as _sha256
except ImportError:
    try:
        from _sha256 import sha256 as _sha256
    except ImportError:
        from hashlib import sha256 as _sha256

_HERE = os.path.dirname(os.path.abspath(__file__))
_SKIP_SEGMENTS = {"site-packages", "dist-packages", ".venv", "venv", ".tox", ".nox", "__pypackages__",
                  "node_modules", "__pycache__", ".git"}
_MAGIC = importlib.util.MAGIC_NUMBER
_PYC_TAG = "%s-O%d" % (sys.implementation.cache_tag, sys.flags.optimize)


def _debug(message):
    if os.environ.get("CTI_DEBUG"):
        try:
            os.write(2, ("cti: %s\n" % message).encode("utf-8", "replace"))
        except OSError:
            pass


class _Hook:
    def __init__(self, boot):
        self.boot = boot
        self.root = os.path.realpath(boot["root"])
        self.cache = boot["cache"]
        self.salt = boot["salt"].encode()
        self.on_miss = (os.environ.get("CTI_ON_MISS") or boot.get("onMiss") or "fallback").lower()
        self.synced = False
        self.writing = False
        self.rels = {}
        self.dirs_rel = {}
        self.misses = 0
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, _HERE, os.path.dirname(self.cache)}
        self.excluded = tuple(os.path.realpath(p) + os.sep for p in prefixes if p)
        self.rt = None

    # ---- which files ---------------------------------------------------------------------

    def relpath(self, path):
        """code.file.path of a project file, or None when cti must leave the file alone."""
        try:
            return self.rels[path]
        except KeyError:
            rel = self.rels[path] = self._relpath(path)
            return rel

    def _relpath(self, path):
        d, name = os.path.split(path)
        prefix = self.dirs_rel.get(d)
        if prefix is None:
            prefix = self.dirs_rel[d] = self._dir_rel(os.path.realpath(d))
        return None if prefix is False else prefix + name

    def _dir_rel(self, real):
        """`a/b/` for a project directory (`` for the root), False for one cti must not touch."""
        if real == self.root:
            return ""
        if not real.startswith(self.root + os.sep) or (real + os.sep).startswith(self.excluded):
            return False
        parent, name = os.path.split(real)
        prefix = self.dirs_rel.get(("real", parent))
        if prefix is None:
            prefix = self.dirs_rel[("real", parent)] = self._dir_rel(parent)
        if prefix is False or name in _SKIP_SEGMENTS or os.path.exists(os.path.join(real, "pyvenv.cfg")):
            return False
        return prefix + name + "/"

    # ---- the cache -------------------------------------------------------------------------

    def key(self, rel, data):
        return _sha256(self.salt + b"\0" + rel.encode() + b"\0" + data).hexdigest()

    def pyc_path(self, rel):
        """The compiled copy of a project file: one per path (and Python version), like __pycache__."""
        h = _sha256(self.salt + b"\0pyc\0" + rel.encode()).hexdigest()
        return os.path.join(self.cache, "pyc", _PYC_TAG, h[:2], h + ".pyc")

    def code_by_stat(self, path, st):
        """The fast path of a hit: the compiled copy made from a file with this mtime and size (what
        CPython trusts for its own .pyc), without reading or hashing the source; else None."""
        rel = self.relpath(path)
        if rel is None or st is None:
            return None
        try:
            with open(self.pyc_path(rel), "rb") as f:
                data = f.read()
        except OSError:
            return None
        if data[:_STAT_END] != _MAGIC + _stamp(st):
            return None
        return _unmarshal(data[_HEAD_END:], path)

    def code_for(self, path, data, st=None):
        """The instrumented code object of a project file, or None (then the caller compiles the original).
        `st` is the file's stat taken before `data` was read: it stamps the compiled copy."""
        rel = self.relpath(path)
        if rel is None:
            return None
        key = self.key(rel, data)
        pyc = self.pyc_path(rel)
        try:
            with open(pyc, "rb") as f:
                head = f.read()
        except OSError:
            head = b""
        if head[:4] == _MAGIC and head[_STAT_END:_HEAD_END] == bytes.fromhex(key):
            code = _unmarshal(head[_HEAD_END:], path)
            if code is not None:
                if st is not None and head[4:_STAT_END] != _stamp(st):
                    self.write_pyc(pyc, key, code, st)  # same content, touched: the next hit is fast again
                return code
        entry = self.read_entry(key)
        if entry is None and self.on_miss == "sync" and not self.synced:
            self.sync()
            entry = self.read_entry(key)
        if entry is None:
            return self.miss(path, rel, "changed since `cti py hook` ran")
        if entry.get("instrumented"):
            import ast  # only on a miss of the compiled cache
            try:
                code = compile(_remap(ast.parse(entry["code"], path), entry["lines"]), path, "exec", dont_inherit=True)
            except Exception as e:  # a bug of ours must not stop the program: run the original
                return self.miss(path, rel, "instrumented copy does not compile (%r)" % (e,))
        else:
            # Nothing to instrument: cached too, since __pycache__ is not used.
            try:
                code = compile(data, path, "exec", dont_inherit=True)
            except SyntaxError:
                return None  # the loader compiles it again and raises it as importlib would
        self.write_pyc(pyc, key, code, st)
        return code

    def read_entry(self, key):
        try:
            with open(os.path.join(self.cache, "src", key[:2], key + ".json"), "rb") as f:
                entry = json.loads(f.read().decode("utf-8"))
            return entry if entry.get("key") == key else None
        except (OSError, ValueError, AttributeError):
            return None

    def load(self, path):
        """The instrumented code of a file run as a script (not imported), or None."""
        st = os.stat(path)
        code = self.code_by_stat(path, st)
        if code is None:
            with open(path, "rb") as f:
                code = self.code_for(path, f.read(), st)
        return code

    def write_pyc(self, pyc, key, code, st):
        if self.writing:
            return
        self.writing = True
        tmp = "%s.%d.tmp" % (pyc, os.getpid())
        try:
            os.makedirs(os.path.dirname(pyc), exist_ok=True)
            with open(tmp, "wb") as f:
                # Without a stat (none was taken), the stamp matches no file: only the key is trusted.
                f.write(_MAGIC + (_stamp(st) if st is not None else bytes(16)) + bytes.fromhex(key) + marshal.dumps(code))
            os.replace(tmp, pyc)
        except OSError:  # read-only or full: the next run compiles again
            try:
                os.unlink(tmp)
            except OSError:
                pass
        finally:
            self.writing = False

    def miss(self, path, rel, why):
        if self.on_miss == "error":
            raise ImportError("cti: %s %s; run `cti py hook` again (or set CTI_ON_MISS=fallback)" % (rel, why), path=path)
        self.misses += 1
        _debug("%s %s: running it uninstrumented" % (rel, why))
        try:
            with open(os.path.join(self.cache, "misses.txt"), "a", encoding="utf-8") as f:
                f.write(rel + "\n")
        except OSError:
            pass
        return None

    def sync(self):
        """CTI_ON_MISS=sync: one `cti py hook --cache-only` run instruments every stale file."""
        self.synced = True
        import subprocess
        env = dict(os.environ, CTI_DISABLE="1")
        env.pop("PYTHONPATH", None)
        cmd = [self.boot.get("node") or "node", self.boot["cli"], "py", "hook", "--out", os.path.dirname(self.cache),
               "--root", self.root, "--cache-only"]
        try:
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300, check=False)
        except Exception as e:
            _debug("sync failed: %r" % (e,))

    # ---- the entry script ------------------------------------------------------------------

    def audit(self, event, args):
        if event != "cpython.run_file" or self.took:
            return
        self.took = True
        path = args[0]
        if not isinstance(path, str) or not path.endswith(".py"):
            return
        try:
            code = self.load(path)
        except ImportError:
            raise
        except Exception:
            return
        if code is None:
            return
        main = sys.modules["__main__"]
        d = main.__dict__
        d["__file__"] = path
        d["__cached__"] = None
        d["__loader__"] = importlib.machinery.SourceFileLoader("__main__", path)
        try:
            exec(code, d)
        except SystemExit:
            raise
        except BaseException as e:
            tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
            sys.excepthook(type(e), e.with_traceback(tb), tb)  # as if run by Python itself: no frame of ours
            d.pop("__file__", None)
            raise SystemExit(130 if isinstance(e, KeyboardInterrupt) else 1)
        d.pop("__file__", None)
        raise SystemExit(0)


class _SpawnedMain:
    """multiprocessing.spawn's `runpy` in a spawned or forkserver child: such a child runs the
    parent's entry script again as `__mp_main__` through runpy.run_path; this runs the
    instrumented copy instead (the way runpy runs a file, from the code object on)."""

    def __getattr__(self, name):
        import runpy
        return getattr(runpy, name)

    def run_path(self, path_name, init_globals=None, run_name=None):
        import runpy
        code = None
        if isinstance(path_name, str) and path_name.endswith(".py"):
            try:
                code = _hook.load(path_name)
            except ImportError:
                raise
            except Exception:
                code = None
        if code is None:
            return runpy.run_path(path_name, init_globals, run_name)
        run_name = run_name or "<run_path>"
        return runpy._run_module_code(code, init_globals, run_name, pkg_name=run_name.rpartition(".")[0], script_name=path_name)


def _multiprocessing_child(rt):
    """A child started by multiprocessing's spawn or forkserver method (`python -c "from
    multiprocessing… import …"`): its __mp_main__ is instrumented, and its spans are exported when
    it ends (it leaves through os._exit, after multiprocessing's finalizers)."""
    if sys.argv[:1] != ["-c"]:
        return
    command = " ".join(getattr(sys, "orig_argv", ()))
    if not command:  # 3.9 has no sys.orig_argv
        try:
            with open("/proc/self/cmdline", "rb") as f:
                command = f.read().decode("utf-8", "replace")
        except OSError:
            command = " ".join(sys.argv)  # the spawn flag is there, a forkserver's command is not
    if "multiprocessing" not in command:
        return
    import multiprocessing.spawn
    import multiprocessing.util
    multiprocessing.spawn.runpy = _SpawnedMain()
    multiprocessing.util.register_after_fork(rt._exporter, rt._Exporter._finalize_at_exit)


# A compiled copy: magic number, the source's mtime (ns) and size, its content key, the marshalled code.
_STAT_END = 4 + 16
_HEAD_END = _STAT_END + 32


def _stamp(st):
    return (st.st_mtime_ns & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little") + (st.st_size & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")


def _unmarshal(data, path):
    try:
        code = marshal.loads(data)
    except Exception:
        return None
    if type(code) is not type(_remap.__code__):
        return None
    _imp._fix_co_filename(code, path)
    return code


def _remap(tree, lines):
    """Moves every node of the instrumented text to its line and column in the original file."""
    table = lines["lines"]
    inserted = {int(k): v for k, v in lines["inserted"].items()}

    def col(line, c):
        shift = 0
        for start, end in inserted.get(line, ()):
            if c < start:
                break
            if c < end:
                return start - shift
            shift += end - start
        return c - shift

    import ast
    n = len(table)
    for node in ast.walk(tree):
        if not hasattr(node, "lineno"):
            continue
        line, c = node.lineno, node.col_offset
        node.lineno = table[line - 1] if 0 < line <= n else line
        node.col_offset = col(line, c)
        end = getattr(node, "end_lineno", None)
        if end is not None:
            ec = node.end_col_offset
            node.end_lineno = table[end - 1] if 0 < end <= n else end
            node.end_col_offset = col(end, ec)
            if (node.end_lineno, node.end_col_offset) < (node.lineno, node.col_offset):
                node.end_lineno, node.end_col_offset = node.lineno, node.col_offset
    return tree


class CtiLoader(importlib.machinery.SourceFileLoader):
    """get_code serves exec_module and runpy (`python -m`) alike; nothing goes to __pycache__."""


# get_code is compiled as if it were part of importlib: Python trims importlib's frames from the
# traceback of a SyntaxError in an imported file, and a frame of ours in between would stop that
# (the traceback would differ from the uninstrumented run's).
exec(compile("""
def get_code(self, fullname):
    path = self.get_filename(fullname)
    try:
        st = _stat(path)
    except OSError:
        st = None
    code = _hook.code_by_stat(path, st)
    if code is None:
        data = self.get_data(path)
        code = _hook.code_for(path, data, st)
        if code is None:
            code = self.source_to_code(data, path)
    return code
""", "<frozen importlib._bootstrap_external>", "exec"), globals())
CtiLoader.get_code = get_code
del get_code
_stat = os.stat


class CtiFinder:
    def find_spec(self, name, path=None, target=None):
        hook = _hook
        if hook.writing or name.partition(".")[0] in _SKIP_NAMES:
            return None
        entries = [p for p in (sys.path if path is None else path) if isinstance(p, str) and hook.relpath_dir(p)]
        if not entries:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, entries, target)
        if spec is None or spec.origin is None or type(spec.loader) is not importlib.machinery.SourceFileLoader:
            return None
        if hook.relpath(spec.origin) is None:
            return None
        spec.loader = CtiLoader(spec.loader.name, spec.loader.path)
        return spec

    def invalidate_caches(self):
        _hook.dirs.clear()


def _relpath_dir(self, entry):
    ok = self.dirs.get(entry)
    if ok is None:
        real = os.path.realpath(entry or os.getcwd())
        ok = self.dirs[entry] = (real == self.root or real.startswith(self.root + os.sep)) and not (real + os.sep).startswith(self.excluded)
    return ok


_Hook.relpath_dir = _relpath_dir
_SKIP_NAMES = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names) | {"_cti_rt", "_cti_hook", "_cti_sdk", "sitecustomize"}
_hook = None


def install(boot_dir):
    """Called by sitecustomize: reads cti_boot.json, installs the finder and the entry-script takeover."""
    global _hook
    if _hook is not None or os.environ.get("CTI_DISABLE") == "1":
        return
    with open(os.path.join(boot_dir, "cti_boot.json"), encoding="utf-8") as f:
        boot = json.load(f)
    import _cti_rt
    _cti_rt.configure(boot)
    if not _cti_rt._on:
        return  # no exporter configured (or OTEL_SDK_DISABLED): the original code runs, at no cost
    hook = _Hook(boot)
    hook.dirs = {}
    hook.took = False
    hook.rt = _cti_rt
    _hook = hook
    sys.meta_path.insert(0, CtiFinder())
    main = sys.argv[0] if sys.argv else ""
    if main.endswith(".py") and hook.relpath(os.path.abspath(main)) is not None:
        sys.addaudithook(hook.audit)
    _multiprocessing_child(_cti_rt)
