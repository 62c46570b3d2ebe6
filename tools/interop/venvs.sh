#!/usr/bin/env bash
# Create one side virtual environment per foreign framework under .venv-interop/<framework>.
# Each pins its framework (sinabs 3.1.3 pins nir <= 1.0.4, hence its own venv). Torch is
# installed first (the CPU wheel), so the framework does not pull a CUDA build.
set -euo pipefail
ROOT=${INTEROP_VENVS:-.venv-interop}
PY=${INTEROP_PYTHON:-python3.11}
mkdir -p "$ROOT"
make_venv() {  # name, then pip requirements
    local name=$1; shift
    local dir=$ROOT/$name
    if [ -f "$dir/.installed" ]; then return; fi
    test -x "$dir/bin/python" || "$PY" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@"
    touch "$dir/.installed"
}
TORCH=torch==2.13.0
make_venv snntorch "$TORCH" snntorch==1.0.0 nirtorch==2.6 nir==1.0.8
make_venv norse "$TORCH" norse==1.1.0 nir==1.0.8
make_venv sinabs "$TORCH" sinabs==3.1.3
make_venv rockpool "$TORCH" rockpool==3.1.0 nir==1.0.8 nirtorch==2.6  # rockpool does not declare nirtorch
make_venv spyx "jax[cpu]==0.10.2" flax==0.12.8 spyx==1.0.0 nir==1.0.8
