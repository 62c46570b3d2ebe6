"""chipsim's kernels compiled ahead of time: a command that needs only those signatures never imports Numba.

``python -m chipsim.aot`` (run by ``make install`` after ``chipsim.warm``) runs the warm-up of every shipped
profile (``chipsim.warm.warm``) on Numba's JIT, then compiles every signature Numba then holds for a kernel
(:func:`signatures`) again with Numba's ahead-of-time compiler (``numba.pycc``, for this CPU) into one
extension module in ``chipsim/_aot/``, with a manifest: which exported function serves which kernel and
argument types, and the fingerprint it was built for (:func:`fingerprint`). The folder is replaced as a
whole, so a half-written build is never read.

Every exported function releases the GIL while it runs, as ``nogil=True`` does for the JIT (pycc has no
such option: the build sets Numba's ``release_gil`` flag for its compile), so the engine can run on
several Python threads at once and Ctrl-C reaches a command while it runs.

At run time :func:`lookup` reads the manifest once and, when its fingerprint is this process's, loads the
module on the first hit (about 6 ms) and returns the exported function; otherwise it answers None and the
kernel takes Numba's JIT (``chipsim.kernels``). A source edit, another Python, NumPy or Numba, or another CPU
(the build uses this CPU's instructions: another one could fault) all change the fingerprint.

``numba.pycc`` is pending deprecation in Numba; where it is gone or fails (no C compiler), the build says so
in one line and chipsim runs as before on the JIT alone.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
FOLDER = PACKAGE / "_aot"
MODULE = "chipsim_aot_kernels"
MANIFEST = "manifest.json"

_loaded: dict = {}


def enabled() -> bool:
    """Whether the ahead-of-time build may serve: not with ``CHIPSIM_NO_AOT=1`` nor ``NUMBA_DISABLE_JIT``."""
    return os.environ.get("CHIPSIM_NO_AOT", "0") in ("", "0") and \
        os.environ.get("NUMBA_DISABLE_JIT", "0") in ("", "0")


def _cpu() -> str:
    """This CPU, as far as the instructions a build may use go (Linux: the model and its flags)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    first = text.split("\n\n", 1)[0]
    keep = [line for line in first.splitlines() if line.split(":")[0].strip() in ("model name", "flags")]
    return "\n".join(keep) or platform.machine()


def _sources_hash(package: Path = PACKAGE) -> str:
    digest = hashlib.sha256()
    for path in sorted(package.glob("**/*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(package: Path = PACKAGE) -> dict:
    """What a build is valid for: chipsim's sources, Python, NumPy, Numba and the CPU."""
    import numpy

    return {"sources": _sources_hash(package), "python": sys.version, "numpy": numpy.__version__,
            "numba": _numba_version(), "cpu": hashlib.sha256(_cpu().encode()).hexdigest()}


def _numba_version() -> str | None:
    """A hash of Numba's ``_version.py`` (its release and revision), found without importing Numba and
    without ``importlib.metadata`` (40 ms here); None where there is no Numba."""
    try:
        spec = importlib.machinery.PathFinder.find_spec("numba")  # not sys.meta_path: numba_start watches it
        return hashlib.sha256((Path(spec.origin).parent / "_version.py").read_bytes()).hexdigest()
    except Exception:  # noqa: BLE001 -- no Numba, or another layout: no build can match
        return None


def _manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("fingerprint") == fingerprint() else None


def lookup(kernel: str, keys: tuple[str, ...], folder: Path | None = None):
    """The exported function for ``kernel`` with argument type keys ``keys`` (``chipsim.kernels.type_keys``),
    or None (no valid build, or not this signature)."""
    entry = _entry(folder)
    name = entry["table"].get((kernel, keys))
    if name is None:
        return None
    if entry["module"] is None:
        path = entry["folder"] / entry["manifest"]["file"]
        spec = importlib.util.spec_from_file_location(MODULE, path,
                                                      loader=importlib.machinery.ExtensionFileLoader(MODULE,
                                                                                                     str(path)))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        entry["module"] = module
    return getattr(entry["module"], name)


def available(folder: Path | None = None) -> bool:
    """Whether a build valid for this process is there (and may serve)."""
    return _entry(folder)["manifest"] is not None


def _entry(folder: Path | None) -> dict:
    """What this process has read of ``folder``'s build (once): its manifest where valid and enabled, the
    table (kernel, type keys) -> exported name, and the module once loaded."""
    folder = FOLDER if folder is None else folder
    entry = _loaded.get(folder)
    if entry is None:
        manifest = _manifest(folder) if enabled() else None
        table = {} if manifest is None else {(k, tuple(sig)): name for k, sig, name in manifest["exports"]}
        entry = _loaded[folder] = {"table": table, "module": None, "manifest": manifest, "folder": folder}
    return entry


def forget() -> None:
    """Drop what :func:`lookup` has read (after a build, or in tests)."""
    _loaded.clear()


def signatures() -> list[tuple]:
    """(kernel, its type keys, its Numba signature) for every signature Numba holds for an ahead-of-time
    kernel (after a warm-up: the entry kernels' signatures, loaded or compiled; kernels called only from
    kernels may have none, having been compiled into their callers)."""
    from chipsim import kernels

    out = []
    for k in kernels._KERNELS:
        if not k.ahead_of_time or k.dispatcher is None:
            continue
        for signature in k.dispatcher.signatures:
            keys = tuple(kernels.numba_type_key(t) for t in signature)
            if None not in keys:
                out.append((k, keys, signature))
    return out


def warm_jit(names=None) -> None:
    """Run ``chipsim.warm.warm`` (every shipped profile, or ``names``) on Numba's JIT alone, so Numba holds
    every signature the profiles need (an older build would serve calls the JIT must see)."""
    from chipsim import kernels, warm

    kernels.materialize()
    before = os.environ.get("CHIPSIM_NO_AOT")
    os.environ["CHIPSIM_NO_AOT"] = "1"
    forget()
    try:
        warm.warm(names, log=lambda *a: None)
    finally:
        if before is None:
            os.environ.pop("CHIPSIM_NO_AOT")
        else:
            os.environ["CHIPSIM_NO_AOT"] = before
        forget()


def _release_gil_flags():
    from numba.core.compiler import Flags

    class ReleaseGil(Flags):
        """Numba's compile flags with ``release_gil`` set (what ``nogil=True`` sets for the JIT)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.release_gil = True

    return ReleaseGil


def build(folder: Path = FOLDER, only: set[str] | None = None) -> int:
    """Compile every signature Numba holds for a kernel (:func:`signatures`; ``only``: these kernel names)
    into ``folder`` (replaced whole); returns how many were exported."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending-deprecation notice
        from numba.pycc import CC
        from numba.pycc import compiler as pycc_compiler
    chosen = [s for s in signatures() if only is None or s[0].name in only]
    if not chosen:
        raise RuntimeError("Numba holds no kernel signature to compile (nothing has run)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".aot-", dir=folder.parent))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cc = CC(MODULE)
            cc.output_dir = str(work)
            cc.target_cpu = "host"
            cc.verbose = False
            exports = []
            for k, keys, signature in chosen:
                export = f"k{len(exports)}"
                cc.export(export, signature)(k.py_func)
                exports.append([k.name, list(keys), export])
            plain = pycc_compiler.Flags
            pycc_compiler.Flags = _release_gil_flags()  # pycc has no nogil option
            try:
                cc.compile()
            finally:
                pycc_compiler.Flags = plain
        built = [p for p in work.iterdir() if p.name.startswith(MODULE)]
        if len(built) != 1:
            raise RuntimeError(f"pycc wrote {[p.name for p in built]}")
        (work / MANIFEST).write_text(json.dumps({"fingerprint": fingerprint(), "file": built[0].name,
                                                 "exports": exports}, indent=1) + "\n")
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        work.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    forget()
    return len(exports)


def main(argv: list[str]) -> int:
    began = time.perf_counter()
    try:
        warm_jit(argv or None)
        n = build()
    except Exception as error:  # noqa: BLE001 -- the JIT still serves: say why, do not fail the install
        print(f"chipsim.aot: no ahead-of-time build ({type(error).__name__}: {error}); the JIT serves every "
              "call", file=sys.stderr)
        return 0
    print(f"chipsim.aot: {n} kernel signatures compiled ahead of time into {FOLDER} in "
          f"{time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
