"""cti boot: `PYTHONPATH=<this dir> python app.py` runs the project's instrumented code (stdlib only).

Python runs only the first `sitecustomize` on sys.path, so this one runs the next one too
(a distribution's or a virtualenv's), then installs the import hook (_cti_hook.py).
"""


def _cti_boot():
    import os
    import sys
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    others = [p for p in sys.path if os.path.realpath(p or os.getcwd()) != os.path.realpath(here)]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception:
            import traceback
            traceback.print_exc()
    try:
        import _cti_hook
        _cti_hook.install(here)
    except ImportError:
        raise
    except Exception as e:  # telemetry must never stop the program
        if os.environ.get("CTI_DEBUG"):
            sys.stderr.write("cti: import hook not installed: %r\n" % (e,))


_cti_boot()
del _cti_boot
