"""One module per compression method; each defines a class with a ``name`` implementing compress.Method.

:func:`available` discovers them, so adding a method touches nothing else. :func:`names` reads the same
names from the modules' source without importing them (so without torch), which is how :func:`require`
refuses an unknown name at once.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

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


def names() -> set[str]:
    """The method names :func:`available` finds, read from the modules' source (a class of the module
    with a string ``name = "..."`` and a ``compress`` method), without importing them: a method module
    imports torch (1.4 s), which a misspelt ``--method`` need not wait for. Kept equal to
    :func:`available`'s keys by tests/test_cli_errors.py."""
    found = set()
    for info in pkgutil.iter_modules(__path__):
        tree = ast.parse((Path(__path__[0]) / f"{info.name}.py").read_text())
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            body = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
            for n in cls.body:
                if (isinstance(n, ast.Assign) and [getattr(t, "id", None) for t in n.targets] == ["name"]
                        and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                        and ("compress" in body or any(isinstance(b, ast.Name) for b in cls.bases))):
                    found.add(n.value.value)
    return found


def require(name: str) -> type:
    """The class of the method called ``name``; an unknown name is a one-line error listing the known ones."""
    known = names()
    if name not in known:  # refused before any method module (and torch) is imported
        raise _unknown(name, known)
    methods = available()
    if name not in methods:
        raise _unknown(name, methods)
    return methods[name]


def _unknown(name: str, known) -> UnknownMethodError:
    return UnknownMethodError(f"unknown method '{name}'; known: {', '.join(sorted(known))}")


def get(name: str, **options) -> object:
    """An instance of the method called ``name`` configured by ``options``."""
    return require(name)(**options)
