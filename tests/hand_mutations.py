"""The four one-line bugs issue 18 found surviving the whole suite, applied one at a time to a scratch copy
of the tree; each must make at least one of the named tests fail. Not part of `make test`.

Usage: python tests/hand_mutations.py    (exit 0 when every mutation is caught)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (what the bug is, file, the line as it is, the line with the bug, tests that must catch it)
MUTATIONS = [
    ("cost: the idle-neuron energy term dropped", "chipsim/cost.py",
     "            if count == 0:",
     '            if count == 0 or counter == "neuron_updates_idle":',
     ["tests/test_hand_counted_cost.py"]),
    ("cost: static energy ignores the number of chips", "chipsim/cost.py",
     "static_w * chips_used * latency_s", "static_w * latency_s",
     ["tests/test_hand_counted_cost.py"]),
    ("place: a core closed one fan-in axon early", "chipsim/place.py",
     "ok = ok and (not use_pre or n_axons + new_pre <= lim_axons)",
     "ok = ok and (not use_pre or n_axons + new_pre < lim_axons)",
     ["tests/test_place_limits.py"]),
    ("run: the exported accuracy reported as the on-chip one", "harness/run.py",
     '"on_chip": on_chip,', '"on_chip": metrics["accuracy"],',
     ["tests/test_harness_run.py"]),
]


def tree_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [f for f in out.splitlines() if (ROOT / f).is_file()]


def main() -> int:
    missed = 0
    for what, path, before, after, tests in MUTATIONS:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for f in tree_files():
                (work / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / f, work / f)
            text = (work / path).read_text()
            if text.count(before) != 1:
                print(f"{what}: {before!r} is not once in {path} (the code moved): update this script")
                missed += 1
                continue
            (work / path).write_text(text.replace(before, after))
            env = os.environ | {"PYTHONPATH": str(work), "MPLBACKEND": "Agg",
                                "NUMBA_CACHE_DIR": str(ROOT / ".cache" / "numba")}
            result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                                     *tests], cwd=work, env=env, capture_output=True, text=True)
            caught = result.returncode == 1
            failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
            where = failed[0] if failed else f"pytest exit {result.returncode}"
            print(f"{'caught' if caught else 'MISSED'}: {what} ({where})")
            missed += not caught
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
