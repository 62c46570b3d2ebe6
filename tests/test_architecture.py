"""The package boundaries of DESIGN.md hold: chipsim never imports torch; compress never imports chipsim."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> set[str]:
    names = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_chipsim_source_never_imports_torch():
    assert "torch" not in imported_modules("chipsim")


def test_chipsim_runtime_never_loads_torch():
    code = "import sys, chipsim, pkgutil, importlib\n" \
        "[importlib.import_module('chipsim.' + m.name) for m in pkgutil.iter_modules(chipsim.__path__)]\n" \
        "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_compress_never_imports_chipsim():
    assert "chipsim" not in imported_modules("compress")


def test_hwprofiles_imports_only_yaml_and_stdlib():
    assert not imported_modules("hwprofiles") & {"torch", "numpy", "chipsim", "compress", "harness"}
