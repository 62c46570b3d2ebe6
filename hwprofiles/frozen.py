"""FrozenMap: a read-only dict that pickles, deep-copies and hashes (unlike ``types.MappingProxyType``).

Profiles are frozen dataclasses that get sent to worker processes and hashed; their mappings must be too.
"""

from __future__ import annotations


class FrozenMap(dict):
    """A ``dict`` whose contents cannot change after construction."""

    def _read_only(self, *args, **kwargs):
        raise TypeError("a chip profile is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.items())))

    def __reduce__(self):
        return (FrozenMap, (dict(self),))

    def __repr__(self) -> str:
        return f"FrozenMap({dict.__repr__(self)})"
