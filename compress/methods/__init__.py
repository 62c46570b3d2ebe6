"""One module per compression method; each defines a class with a ``name`` implementing compress.Method.

:func:`available` discovers them, so adding a method touches nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from hwprofiles.errors import UserError


class UnknownMethodError(UserError):
    pass


def available() -> dict[str, type]:
    """Method name -> class, for every module in this package that defines one."""
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and isinstance(getattr(value, "name", None), str) and (
                value.__module__ == module.__name__ and callable(getattr(value, "compress", None))
            ):
                found[value.name] = value
    return found


def require(name: str) -> type:
    """The class of the method called ``name``; an unknown name is a one-line error listing the known ones."""
    methods = available()
    if name not in methods:
        raise UnknownMethodError(f"unknown method '{name}'; known: {', '.join(sorted(methods))}")
    return methods[name]


def get(name: str, **options) -> object:
    """An instance of the method called ``name`` configured by ``options``."""
    return require(name)(**options)
