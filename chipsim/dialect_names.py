"""The names the dialect options take (no imports, so that a cached `harness map` loads no nir)."""

SOURCES = ("auto", "nir", "chipfit", "snntorch", "norse", "sinabs", "rockpool", "spyx", "lava")
RESETS = ("zero", "subtract")
EXPORT_TARGETS = ("snntorch", "norse", "sinabs", "rockpool", "spyx")
