"""Mutation testing of the core modules with mutmut (``make mutation``; not part of ``make test``).

Each module runs on its own: a scratch copy of the working tree in ``.cache/mutation/<module>`` with a
``setup.cfg`` that mutates that one file and runs only the fast tests that cover it (``MODULES``). The
scratch copies keep mutmut's cache, so a second run only tests mutants it has no result for; delete the
folder to start over.

Numba: mutmut leaves decorated functions alone, and nearly all of ``chipsim/engine.py`` is ``@kernel``
(``chipsim.kernels``). For that module (and ``chipsim/place.py``'s kernels) the scratch copy drops the
``@kernel`` decorators of the mutated file only, so its kernels run as the plain Python they are written in
(``prange`` is ``range`` then) and mutmut can mutate them; compiled, a mutant would be ignored (the
trampoline is Python) or run from Numba's cache. Every other module stays compiled (from the seeded
cache): with Numba off everywhere (``NUMBA_DISABLE_JIT=1``, the first way this was run) the compile,
expansion, partition and routing kernels that every engine or place test goes through ran as Python too,
for every mutant. The scratch copy has no ahead-of-time build (``chipsim/_aot`` is not tracked): its
kernels are Numba's JIT.
``CHIPSIM_PLAIN_PREFETCH=1`` makes ``chipsim.prefetch.prefetch`` a Python no-op for the engine's
Python kernels (an intrinsic cannot be called from Python).

Numba and fork: mutmut forks one worker per mutant from the process that ran the tests once (so compiled
kernels are inherited). With Numba's OpenMP threading layer a forked child that launches a parallel kernel
kills itself with SIGTERM ("fork() called from a process already using GNU OpenMP"): every mutant then
reads as exit -15. The runs use ``NUMBA_THREADING_LAYER=workqueue`` and one thread, which survive fork.
The kernels compiled by the working tree's own test runs are copied to where the mutated copy looks
(``seed_numba_cache``), so a module's first run does not recompile the engine.

Usage: python tests/mutation.py [module ...]   (default: all of MODULES, in order)
       python tests/mutation.py --summary [module ...]   (the scores and survivors of the last runs)
       python tests/mutation.py --recheck [module ...]   (rerun only the survivors, e.g. after new tests)
       python tests/mutation.py --sample=N [module ...]  (N mutants drawn at random: an estimate)
Prints one line per module and writes the numbers to .cache/mutation/summary.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
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
    "chipsim/quantize.py": ["tests/test_chipsim_quantize.py", "tests/test_chipsim_compile.py",
                            "tests/test_chipsim_weight_formats.py", "tests/test_lava_fixtures.py"],
    "hwprofiles/schema.py": ["tests/test_hwprofiles_loader.py", "tests/test_hwprofiles_schema.py"],
    "chipsim/place.py": ["tests/test_chipsim_place.py", "tests/test_place_limits.py"],
    "chipsim/compile.py": ["tests/test_compile_errors.py", "tests/test_compile_hand.py",
                           "tests/test_chipsim_compile.py", "tests/test_chipsim_delay.py",
                           "tests/test_chipsim_weight_formats.py", "tests/test_cli_errors.py",
                           "tests/test_place_limits.py"],
    "chipsim/engine.py": ["tests/test_chipsim_engine.py", "tests/test_chipsim_engine_by_hand.py",
                          "tests/test_chipsim_engine_routing.py",
                          "tests/test_chipsim_engine_runs.py", "tests/test_chipsim_counters.py",
                          "tests/test_lava_fixtures.py", "tests/test_chipsim_delay.py",
                          "tests/test_chipsim_noc.py", "tests/test_chipsim_cost.py"],
    "harness/run.py": ["tests/test_harness_run.py"],
}
# tests of a covering file left out of a module's run: slow there, and a small test checks the same rule
# (with Numba off, placing 200,000 neurons takes seconds per mutant; the small cores-past-the-chips test
# in test_chipsim_place.py counts the same chips and violation on 5 neurons)
DESELECT = {
    # the Brian2 twin against Lava's fixtures never calls the engine: it would only slow the clean runs
    "chipsim/engine.py": ["tests/test_lava_fixtures.py::test_brian2_twin_matches_lava_spikes_u_and_v"],
    "chipsim/quantize.py": ["tests/test_lava_fixtures.py::test_brian2_twin_matches_lava_spikes_u_and_v"],
    "chipsim/place.py": ["tests/test_chipsim_place.py::test_200k_neurons_on_loihi_span_two_chips",
                         "tests/test_chipsim_place.py::test_more_chips_than_the_system_joins_is_a_cores_violation"],
}
# lines mutmut leaves alone (regular expressions, mutmut's do_not_mutate_patterns): the engine's software
# prefetches and the arithmetic that only says what to prefetch (how many rows ahead, which spike's row).
# A prefetch changes no value (chipsim/prefetch.py), so no test can tell a mutant of these lines from the
# original: every one would be an equivalent survivor, and each runs every engine test (~20 s).
DO_NOT_MUTATE = {
    "chipsim/engine.py": [r"prefetch", r"PREFETCH", r"\bahead\b", r"\bfar\b", r"\bnxt\b", r"\bw_line\b",
                          r"\bmean_row\b", r"\bn_pre\b"],
}
PACKAGES = ["chipsim", "compress", "harness", "hwprofiles"]
MUTMUT = [sys.executable, str(Path(__file__).resolve()), "--mutmut"]  # mutmut_with_one_session
NJIT = re.compile(r"^\s*@kernel\(.*$\n", re.MULTILINE)
# modules whose kernels are @kernel (chipsim.kernels): mutated with their decorators dropped (see above)
JITTED = {"chipsim/engine.py", "chipsim/place.py"}



def tree_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files of the working tree."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [f for f in out.splitlines() if (ROOT / f).is_file()]


def prepare(module: str) -> Path:
    """Refresh the scratch copy of the tree for ``module`` (mutmut's ``mutants/`` cache is kept)."""
    work = SCRATCH / module.replace("/", "_").removesuffix(".py")
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "mutants" / f"{module}.meta").exists():  # a run stopped while it wrote the mutants
        (work / "mutants" / module).unlink(missing_ok=True)
    for f in tree_files():
        if f.startswith("mutants/"):
            continue
        # mutmut copies the packages' other files (the profile YAMLs, test data) into mutants/ once and
        # never again: refresh them too, or a run tests today's code against an old profile
        copied = not f.endswith(".py") and f.split("/")[0] in (*PACKAGES, "tests")
        targets = [work / f] + ([work / "mutants" / f] if copied and (work / "mutants").is_dir() else [])
        for dst in targets:
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists() or dst.read_bytes() != (ROOT / f).read_bytes():
                shutil.copy2(ROOT / f, dst)
    if module in JITTED:
        path = work / module
        path.write_text(NJIT.sub("", path.read_text()))
    seed_numba_cache(ROOT / "chipsim", work / "mutants" / "chipsim", work / ".cache" / "numba")
    tests = "\n    ".join(t for t in MODULES[module] if (ROOT / t).exists())
    deselect = "".join(f"    --deselect\n    {t}\n" for t in DESELECT.get(module, []))
    patterns = "".join(f"\n    {p}" for p in DO_NOT_MUTATE.get(module, []))
    (work / "setup.cfg").write_text(
        "[mutmut]\n"
        "source_paths =\n" + "".join(f"    {p}\n" for p in PACKAGES) +
        f"only_mutate = {module}\n"
        f"pytest_add_cli_args_test_selection =\n    {tests}\n"
        "pytest_add_cli_args =\n    -p\n    no:cacheprovider\n    -p\n    no:xdist\n    -x\n    -q\n"
        + deselect
        + (f"do_not_mutate_patterns ={patterns}\n" if patterns else "") +
        "use_git_change_detection = false\n"
        "process_isolation = fork\n"
        "timeout_multiplier = 4.0\n"
        "timeout_constant = 5.0\n"
    )
    return work


def numba_cache_dir(package: Path, cache: Path) -> Path:
    """Where Numba caches the kernels of ``package``'s files (numba.core.caching's naming)."""
    return cache / f"{package.name}_{hashlib.sha1(str(package.resolve()).encode()).hexdigest()}"


def seed_numba_cache(package: Path, mutated: Path, cache: Path) -> None:
    """Copy the working tree's compiled kernels to where the mutated copy will look for them: mutmut copies
    files with their mtime, so Numba's index (source mtime and size) stays valid and nothing recompiles."""
    source = numba_cache_dir(package, ROOT / ".cache" / "numba")
    target = numba_cache_dir(mutated, cache)
    if source.is_dir() and not target.exists():
        shutil.copytree(source, target)


def summarize(work: Path, module: str) -> dict:
    """Counts by status from mutmut's meta file for ``module``."""
    from mutmut.stats import status_by_exit_code

    meta = json.loads((work / "mutants" / f"{module}.meta").read_text())
    codes = meta["exit_code_by_key"]
    counts = Counter(status_by_exit_code[c] for c in codes.values())
    survived = sorted(k for k, c in codes.items() if status_by_exit_code[c] in ("survived", "no tests"))
    total = sum(counts.values())
    checked = total - counts.get("not checked", 0)  # a run cut short: the rate of the mutants it tested
    return {"total": total, "counts": dict(counts), "survived": survived,
            "survived_rate": (len(survived) / checked) if checked else 0.0}


def run(module: str, children: int, recheck: bool = False, sample: int | None = None) -> dict:
    """Run mutmut on ``module``; ``recheck``: only the mutants that survived last time (after new tests);
    ``sample``: only that many of its mutants, drawn at random (seeded), for an estimate where the whole
    module does not fit the time (the rate is then over the mutants tested)."""
    work = prepare(module)
    names = summarize(work, module)["survived"] if recheck else []
    # the tests may have changed since the last run: which test reaches which function is measured again
    # (one run of the covering tests); mutants already tested keep their result unless rechecked
    (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(NUMBA_CACHE_DIR=str(work / ".cache" / "numba"), MPLBACKEND="Agg",
               BRIAN2_CACHE_DIR=str(ROOT / ".cache" / "brian2"), NUMBA_NUM_THREADS="1",
               NUMBA_THREADING_LAYER="workqueue")
    if module in JITTED:
        env["CHIPSIM_PLAIN_PREFETCH"] = "1"
    began = time.perf_counter()
    log = work / "mutmut.log"
    if sample:
        meta = work / "mutants" / f"{module}.meta"
        if not meta.exists():  # mutmut writes its mutants, then finds no mutant of this name to run
            subprocess.run([*MUTMUT, "run", "no-such-mutant"], cwd=work, env=env,
                           capture_output=True, check=False)
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        drawn = random.Random(0).sample(sorted(codes), min(sample, len(codes)))
        names = [k for k in drawn if codes[k] is None]
        if not names:
            return summarize(work, module) | {"wall_s": 0.0, "sampled": len(drawn)}
    with log.open("w") as out:
        subprocess.run([*MUTMUT, "run", "--max-children", str(children), *names],
                       cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    summary = summarize(work, module) | {"wall_s": round(time.perf_counter() - began, 1)}
    return summary | ({"sampled": sample} if sample else {})


def mutmut_with_one_session(argv: list[str]) -> int:
    """``mutmut`` (its command line, ``argv``) with two changes. The worker forked for each mutant runs its
    tests from one pytest session collected in mutmut's process before the first fork, instead of calling
    ``pytest.main`` afresh (configuration, plugins, collection: ~0.5 s a mutant on this machine, more than
    most mutants' tests). And a test's time includes its fixtures' setup (``SetupTime``). The tests, their
    order (fastest first), ``-x`` and the exit codes (0 survived, 1 killed) are mutmut's; the stats, clean
    and forced-fail runs are mutmut's own ``pytest.main``."""
    from _pytest.config import _prepareconfig
    from _pytest.main import Session
    from _pytest.runner import runtestprotocol
    from mutmut.__main__ import cli
    from mutmut.runners.harness import PytestRunner
    from mutmut.state import state
    from mutmut.utils.file_utils import change_cwd
    from mutmut.workers.isolation import ForkRunner

    collected: dict = {}
    startup, run_tests, execute = ForkRunner.startup, PytestRunner.run_tests, PytestRunner.execute_pytest

    class SetupTime:
        """mutmut times a test by its call alone; its fixtures' setup and teardown count too here (a test
        whose fixture runs the harness spends its time there), so that the timeouts, (estimate + 5 s) x 4,
        and the fastest-first order are of the whole test."""

        def pytest_runtest_makereport(self, item, call) -> None:
            durations = state().duration_by_test
            if call.when != "call" and item.nodeid in durations:
                durations[item.nodeid] += call.duration

    def execute_timing_setup(self, params, **kwargs) -> int:
        if "plugins" in kwargs:  # the stats run (and the listing of tests, where no test runs)
            kwargs["plugins"] = [*kwargs["plugins"], SetupTime()]
        return execute(self, params, **kwargs)

    def collect_then_start(self) -> None:
        runner = self.test_runner
        args = ["--rootdir=.", "--tb=native", "-x", "-q", "-p", "no:randomly", "-p", "no:random-order",
                *runner._pytest_add_cli_args_test_selection, *runner._pytest_add_cli_args]
        with change_cwd("mutants"):
            config = _prepareconfig(args)
            config._do_configure()
            session = Session.from_config(config)
            config.hook.pytest_sessionstart(session=session)
            config.hook.pytest_collection(session=session)
        collected.update((item.nodeid, item) for item in session.items)
        startup(self)

    def run_collected(self, *, mutant_name, tests) -> int:
        items = [collected.get(t) for t in tests]
        if mutant_name is None or not items or None in items:  # not a mutant's run, or a test not collected
            return run_tests(self, mutant_name=mutant_name, tests=tests)
        with change_cwd("mutants"):
            for k, item in enumerate(items):
                following = items[k + 1] if k + 1 < len(items) else None
                reports = runtestprotocol(item, log=False, nextitem=following)
                if any(r.failed for r in reports):
                    return 1
        return 0

    ForkRunner.startup, PytestRunner.run_tests = collect_then_start, run_collected
    PytestRunner.execute_pytest = execute_timing_setup
    return cli.main(argv, prog_name="mutmut", standalone_mode=False) or 0


def main(argv: list[str]) -> int:
    children = int(os.environ.get("MUTATION_CHILDREN", "2"))
    report_only = "--summary" in argv  # print the scores of the last runs, run nothing
    recheck = "--recheck" in argv  # rerun only the last run's survivors (after adding tests)
    sample = next((int(a.split("=", 1)[1]) for a in argv if a.startswith("--sample=")), None)
    modules = [a for a in argv if not a.startswith("--")] or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        print(f"unknown module {unknown[0]!r}; choose from {', '.join(MODULES)}", file=sys.stderr)
        return 2
    summary_path = SCRATCH / "summary.json"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    for module in modules:
        if report_only:
            work = SCRATCH / module.replace("/", "_").removesuffix(".py")
            if not (work / "mutants" / f"{module}.meta").exists():
                continue
            r = summarize(work, module)
        else:
            r = run(module, children, recheck, sample) | {"commit": commit}
            results = json.loads(summary_path.read_text()) if summary_path.exists() else {}
            results[module] = r
            SCRATCH.mkdir(parents=True, exist_ok=True)
            summary_path.write_text(json.dumps(results, indent=1))
        pending = r["counts"].get("not checked", 0)
        killed = r["total"] - len(r["survived"]) - pending
        print(f"{module}: {killed}/{r['total']} killed, {len(r['survived'])} survived "
              f"({100 * r['survived_rate']:.1f}%)" + (f", {pending} not run yet" if pending else "")
              + (f", {r['wall_s']:.0f} s" if "wall_s" in r else "") + f"; {r['counts']}", flush=True)
        for name in r["survived"] if report_only else ():
            print(f"  survived: {name}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--mutmut"]:  # how run() starts mutmut (in the scratch copy)
        sys.path[0] = os.getcwd()  # as `python -m mutmut` has it
        sys.exit(mutmut_with_one_session(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
