"""chipsim: compile a NIR graph to a chip's fixed point, place it on cores, simulate it (Numba), price it.

chipsim never imports torch: its input is a NIR graph and a ChipProfile.
"""
