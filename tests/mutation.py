"""Mutation testing of the core modules with mutmut (``make mutation``; not part of ``make test``).

Each module runs on its own: a scratch copy of the working tree in ``.cache/mutation/<module>`` with a
``setup.cfg`` that mutates that one file and runs only the fast tests that cover it (``MODULES``). The
scratch copies keep mutmut's cache, so a second run only tests mutants it has no result for; delete the
folder to start over.

Numba: mutmut leaves decorated functions alone, and nearly all of ``chipsim/engine.py`` is ``@nb.njit``.
For that module the scratch copy drops the ``@nb.njit`` decorators and runs with ``NUMBA_DISABLE_JIT=1``,
so the kernels run as the plain Python they are written in (``nb.prange`` is ``range`` then) and mutmut
can mutate them; compiled, a mutant would be ignored (the trampoline is Python) or run from Numba's cache.

Usage: python tests/mutation.py [module ...]   (default: all of MODULES, in order)
Prints one line per module and writes docs-ready numbers to .cache/mutation/summary.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".cache" / "mutation"

# module -> the fast tests that cover it (the smallest set that kills what can be killed)
MODULES = {
    "chipsim/cost.py": ["tests/test_chipsim_cost.py", "tests/test_hand_counted_cost.py"],
    "chipsim/quantize.py": ["tests/test_chipsim_quantize.py", "tests/test_chipsim_compile.py"],
    "hwprofiles/schema.py": ["tests/test_hwprofiles_loader.py", "tests/test_hwprofiles_schema.py"],
    "chipsim/place.py": ["tests/test_chipsim_place.py", "tests/test_place_limits.py"],
    "chipsim/compile.py": ["tests/test_chipsim_compile.py"],
    "chipsim/engine.py": ["tests/test_chipsim_engine.py", "tests/test_chipsim_engine_routing.py"],
    "harness/run.py": ["tests/test_harness_run.py"],
}
PACKAGES = ["chipsim", "compress", "harness", "hwprofiles"]
NJIT = re.compile(r"^\s*@nb\.njit\b.*$\n", re.MULTILINE)

# Written into the scratch copy's tests/ (never into the repository): compiles the engine's kernels once in
# mutmut's fork server, so each forked mutant run inherits them instead of loading them from Numba's cache.
WARM_UP = '''"""Scratch-only (tests/mutation.py): compile the Numba kernels before mutmut forks."""
import numpy as np

from chipsim.fit import FitReport, Placement
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.simulate import simulate


def _warm_up():
    for model, inputs in (("speck_iaf", np.array([[1]], np.uint8)), ("loihi_cuba", np.array([[1]], np.uint8)),
                          ("float_lif", np.array([[0.5]]))):
        prm = NeuronParams(model=model, threshold=1, state_bits=16)
        pops = (Population("in", 1, (1,), None, np.zeros(1)), Population("a", 1, (1,), prm, np.zeros(1)))
        w = np.array([1.0]) if model == "float_lif" else np.array([1], np.int32)
        proj = Projection("w", 0, 1, "dense", np.array([0, 1]), np.array([0], np.int32), w)
        net = ChipNetwork("warm", pops, (proj,), 1, 1e-3, model != "float_lif")
        pl = Placement((np.array([-1], np.int32), np.array([0], np.int32)), FitReport("w", True, (), 1, 1, 1),
                       1, 1, 1, 1)
        try:
            simulate(net, pl, inputs)
        except Exception:  # a warm-up only: a model this toy cannot take is compiled by the tests themselves
            pass


_warm_up()
'''


def tree_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files of the working tree."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [f for f in out.splitlines() if (ROOT / f).is_file()]


def prepare(module: str) -> Path:
    """Refresh the scratch copy of the tree for ``module`` (mutmut's ``mutants/`` cache is kept)."""
    work = SCRATCH / module.replace("/", "_").removesuffix(".py")
    work.mkdir(parents=True, exist_ok=True)
    for f in tree_files():
        if f.startswith("mutants/"):
            continue
        dst = work / f
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists() or dst.read_bytes() != (ROOT / f).read_bytes():
            shutil.copy2(ROOT / f, dst)
    if module == "chipsim/engine.py":
        path = work / module
        path.write_text(NJIT.sub("", path.read_text()))
    else:
        (work / "tests" / "conftest.py").write_text(WARM_UP)
    tests = "\n    ".join(t for t in MODULES[module] if (ROOT / t).exists())
    (work / "setup.cfg").write_text(
        "[mutmut]\n"
        "source_paths =\n" + "".join(f"    {p}\n" for p in PACKAGES) +
        f"only_mutate = {module}\n"
        f"pytest_add_cli_args_test_selection =\n    {tests}\n"
        "pytest_add_cli_args =\n    -p\n    no:cacheprovider\n    -p\n    no:xdist\n    -x\n    -q\n"
        "use_git_change_detection = false\n"
        "process_isolation = forkserver\n"
        "timeout_multiplier = 10.0\n"
        "timeout_constant = 20.0\n"
    )
    return work


def summarize(work: Path, module: str) -> dict:
    """Counts by status from mutmut's meta file for ``module``."""
    from mutmut.stats import status_by_exit_code

    meta = json.loads((work / "mutants" / f"{module}.meta").read_text())
    codes = meta["exit_code_by_key"]
    counts = Counter(status_by_exit_code[c] for c in codes.values())
    survived = sorted(k for k, c in codes.items() if status_by_exit_code[c] in ("survived", "no tests"))
    total = sum(counts.values())
    return {"total": total, "counts": dict(counts), "survived": survived,
            "survived_rate": (len(survived) / total) if total else 0.0}


def run(module: str, children: int) -> dict:
    work = prepare(module)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(NUMBA_CACHE_DIR=str(work / ".cache" / "numba"), MPLBACKEND="Agg",
               BRIAN2_CACHE_DIR=str(ROOT / ".cache" / "brian2"), NUMBA_NUM_THREADS="1")
    if module == "chipsim/engine.py":
        env["NUMBA_DISABLE_JIT"] = "1"
    began = time.perf_counter()
    log = work / "mutmut.log"
    with log.open("w") as out:
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(children)], cwd=work,
                       env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    summary = summarize(work, module) | {"wall_s": round(time.perf_counter() - began, 1)}
    return summary


def main(argv: list[str]) -> int:
    children = int(os.environ.get("MUTATION_CHILDREN", "2"))
    modules = argv or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        print(f"unknown module {unknown[0]!r}; choose from {', '.join(MODULES)}", file=sys.stderr)
        return 2
    summary_path = SCRATCH / "summary.json"
    results = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    for module in modules:
        r = run(module, children) | {"commit": commit}
        results[module] = r
        SCRATCH.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(json.dumps(results, indent=1))
        killed = r["total"] - len(r["survived"])
        print(f"{module}: {killed}/{r['total']} killed, {len(r['survived'])} survived "
              f"({100 * r['survived_rate']:.1f}%), {r['wall_s']:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
