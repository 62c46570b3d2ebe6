"""Numba's first use without scipy.linalg's import (nor coverage's): the part of chipsim's start-up that is
not chipsim's.

The first call of any Numba function in a process (compiled or loaded from the cache) sets up Numba's
registries, and one of them (``numba.np.arraymath``) checks for BLAS by importing
``scipy.linalg.cython_blas``. Importing that module imports the whole ``scipy.linalg`` package first
(its ``__init__``: array-API shims, docstring parsing, ``numpy.f2py``), which took 0.25 s of a 2.6 s
``harness simulate`` on a quiet machine and 0.6 s on a loaded one, for a module of function pointers that
loads alone in about 10 ms. :func:`preload_blas` loads that one extension module from scipy's folder and
registers it under its name, so Numba's check finds it (:func:`install`, run by ``chipsim/__init__``,
has that done just before Numba is first imported, so importing chipsim alone imports neither);
``scipy.linalg``, imported later by anyone, gets the same module as its attribute ``cython_blas``
(:class:`_AttachBlas`), as if it had loaded it itself.
Nothing changes in what Numba compiles or runs: the BLAS it links is the same module. chipsim's kernels
call no BLAS.

Where scipy is missing, laid out differently, or the module cannot load alone, nothing is preloaded and
Numba imports ``scipy.linalg`` as before.

:func:`set_up` does that first-use set-up at once (it is the same work the first call of a cached kernel
would do), so a command can time it apart from the stage that would otherwise pay for it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

BLAS = "scipy.linalg.cython_blas"


def preload_blas() -> bool:
    """Load ``scipy.linalg.cython_blas`` without ``scipy.linalg``'s ``__init__`` (once, before Numba's
    registries are set up); whether the module is now in ``sys.modules``."""
    if BLAS in sys.modules:
        return True
    if "scipy.linalg" in sys.modules or "numba.np.arraymath" in sys.modules:
        return False  # too late to matter, or scipy.linalg is there already and imports it itself
    try:
        spec = importlib.util.find_spec("scipy")  # finds the package without importing it
        if spec is None or not spec.submodule_search_locations:
            return False
        folder = Path(next(iter(spec.submodule_search_locations))) / "linalg"
        files = [folder / f"cython_blas{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES]
        path = next((f for f in files if f.is_file()), None)
        if path is None:
            return False
        import scipy  # noqa: F401 -- the parent package (light); numba reads scipy.__config__ too

        loader = importlib.machinery.ExtensionFileLoader(BLAS, str(path))
        module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(BLAS, path,
                                                                                         loader=loader))
        loader.exec_module(module)
    except Exception:  # noqa: BLE001 -- any failure: leave it to Numba's own import
        sys.modules.pop(BLAS, None)
        return False
    sys.modules[BLAS] = module
    sys.meta_path.insert(0, _AttachBlas())
    return True


class _AttachBlas(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when ``scipy.linalg`` is first imported, sets the preloaded module as its
    ``cython_blas`` attribute once the package has run (the import system does that only for a submodule it
    loads); inert after that (it stays in ``sys.meta_path``: removing a finder while the import system walks
    the list would skip the next one)."""

    done = False

    def find_spec(self, name, path=None, target=None):
        if name != "scipy.linalg" or self.done:
            return None
        self.done = True
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            if BLAS in sys.modules and not hasattr(module, "cython_blas"):
                module.cython_blas = sys.modules[BLAS]

        spec.loader.exec_module = exec_module
        return spec


COVERAGE_SUPPORT = "numba.misc.coverage_support"


class _NoCoverageForNumba(importlib.abc.MetaPathFinder):
    """Refuses ``coverage`` to Numba's ``coverage_support`` module while that module runs, when nothing has
    imported coverage before it; finds nothing otherwise.

    Numba imports the coverage package (if installed) as it is itself imported, only to report the lines it
    compiles to a coverage measurement that is running; that import took 45 ms of a 0.9 s ``harness
    simulate`` here (coverage is in the test environment). A running measurement (``coverage run``, pytest's
    coverage plugins) has imported coverage before chipsim, and then the import system finds it in
    ``sys.modules`` without asking any finder, so nothing changes there; otherwise Numba sees no coverage
    (its ``coverage_available`` is False), as in an environment without the package. Anyone else's
    ``import coverage``, before or after, is untouched."""

    def find_spec(self, name, path=None, target=None):
        if name == "coverage":
            module = sys.modules.get(COVERAGE_SUPPORT)
            if module is not None and not hasattr(module, "coverage_available"):  # mid-import
                raise ModuleNotFoundError("coverage hidden from Numba (chipsim.numba_start)", name=name)
        return None


class _BeforeNumba(importlib.abc.MetaPathFinder):
    """Finds nothing itself: runs :func:`preload_blas` and puts :class:`_NoCoverageForNumba` in place when
    ``numba`` is first imported (so importing chipsim alone, as a cached ``harness map`` does, imports
    neither Numba nor scipy); inert after that."""

    done = False

    def find_spec(self, name, path=None, target=None):
        if name == "numba" and not self.done:
            self.done = True
            preload_blas()
            if COVERAGE_SUPPORT not in sys.modules:
                sys.meta_path.insert(0, _NoCoverageForNumba())
        return None


def install() -> None:
    """Preload BLAS now if Numba is already imported, else just before it is (:class:`_BeforeNumba`)."""
    if "numba" in sys.modules:
        preload_blas()
    elif not any(isinstance(f, _BeforeNumba) for f in sys.meta_path):
        sys.meta_path.insert(0, _BeforeNumba())


def set_up() -> None:
    """Set up Numba's compiler registries now (idempotent: later calls cost microseconds)."""
    try:
        from numba.core.registry import cpu_target
    except ImportError:  # another Numba layout: the first kernel call will do it
        return
    cpu_target.target_context.refresh()
