"""chipsim.numba_start: scipy.linalg.cython_blas preloaded without scipy.linalg; one module throughout."""

import subprocess
import sys

CHECK = """
import sys
import chipsim
from chipsim.numba_start import BLAS
assert "scipy" not in sys.modules and "numba" not in sys.modules, "chipsim alone imported them"
import numba
preloaded = sys.modules.get(BLAS)
assert preloaded is not None, "not preloaded"
assert "scipy.linalg" not in sys.modules, "scipy.linalg imported"
import numba.np.arraymath
assert numba.np.arraymath._HAVE_BLAS, "numba found no BLAS"
assert "scipy.linalg" not in sys.modules, "numba imported scipy.linalg"
import scipy.linalg
assert scipy.linalg.cython_blas is preloaded, "not the package's attribute"
from scipy.linalg import cython_blas
assert cython_blas is preloaded, "a second module"
import scipy.linalg.cython_blas as again
assert again is preloaded
assert "dgemm" in cython_blas.__pyx_capi__
print("ok")
"""


def test_preloaded_blas_is_the_module_scipy_and_numba_use():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_preload_is_a_no_op_once_scipy_linalg_is_imported():
    code = ("import scipy.linalg, sys\nfrom chipsim.numba_start import preload_blas, BLAS\n"
            "print(preload_blas(), sys.modules[BLAS] is scipy.linalg.cython_blas)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]


HIDDEN = """
import sys
import chipsim
import numba
import numba.misc.coverage_support as support
print("coverage" in sys.modules, support.coverage_available)
import coverage  # anyone else's import, after Numba's, still works
print(hasattr(coverage, "Coverage"))
"""

SEEN = """
import coverage
import chipsim
import numba.misc.coverage_support as support
print(support.coverage_available)
"""


def test_numba_imports_no_coverage_unless_a_measurement_imported_it_first():
    out = subprocess.run([sys.executable, "-c", HIDDEN], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "True"]
    out = subprocess.run([sys.executable, "-c", SEEN], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True"]  # coverage imported before chipsim: Numba reports to it
