"""chipsim: compile a NIR graph to a chip's fixed point, place it on cores, simulate it (Numba), price it.

chipsim never imports torch: its input is a NIR graph and a ChipProfile.
"""

from chipsim.numba_start import install

install()  # BLAS preloaded as Numba is imported: its set-up then skips scipy.linalg's import (0.25 s)
