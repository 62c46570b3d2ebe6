"""Fuzzing what a user types: profile fields and command-line values never end in a traceback.

Every outcome must be either success or a :class:`~hwprofiles.errors.UserError` (one line, exit 2). The
examples stop at validation (profile loading plus compiling a 4-neuron graph; argument parsing; method
option checks), so each property runs in about a second.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import nir
import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hwprofiles
from chipsim.compile import compile_graph
from harness import cli, options
from hwprofiles.errors import UserError
from hwprofiles.loader import build, parse
from hwprofiles.schema import SECTIONS, TOP

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOIHI = parse(str(hwprofiles.PROFILES_DIR / "loihi.yaml"))
KEYS = [(None, k) for k in TOP] + [(s, k) for s, rules in SECTIONS.items() for k in rules]

values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.sampled_from([0, 1, 8, 16, 24, 32, 33, 48, 64])
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def tiny_graph() -> nir.NIRGraph:
    tau = 1e-3 / (1 - 0.9)
    nodes = {"input": nir.Input(np.array([3])), "fc": nir.Affine(np.full((4, 3), 0.5), np.zeros(4)),
             "lif": nir.LIF(tau=np.full(4, tau), r=np.full(4, tau / 1e-3), v_leak=np.zeros(4),
                            v_threshold=np.ones(4)),
             "output": nir.Output(np.array([4]))}
    return nir.NIRGraph(nodes, [("input", "fc"), ("fc", "lif"), ("lif", "output")], type_check=False)


GRAPH = tiny_graph()


@FAST
@given(key=st.sampled_from(KEYS), value=values, wrap=st.booleans())
def test_any_value_of_any_profile_key_loads_or_is_one_profile_error(key, value, wrap):
    data = copy.deepcopy(dict(LOIHI))
    section, name = key
    entry = {"value": value, "source": "fuzz"} if wrap else value
    if section is None:
        data[name] = entry
    else:
        data[section] = dict(data[section]) | {name: entry}
    try:
        profile = build(data, "loihi.yaml")
    except UserError as error:
        assert "\n" not in str(error)
        return
    try:  # a profile that loads must compile a small graph, or refuse it in one line
        compile_graph(GRAPH, profile, dt_s=1e-3)
    except UserError as error:
        assert "\n" not in str(error)


@FAST
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_as_a_profile_file_are_one_profile_error(tmp_path_factory, raw):
    path = Path(tmp_path_factory.mktemp("p")) / "loihi.yaml"
    path.write_bytes(raw)
    try:
        hwprofiles.load(path)
    except UserError as error:
        assert str(path) in str(error) and "\n" not in str(error)


def _all_options() -> list[tuple[str, list[str], options.Opt]]:
    """(command, required argv, option) for every option with a value in every command's table."""
    from harness.commands import compress, map, run, simulate, sweep, train, validate

    required = {"compress": ["--method", "ptq", "--dataset", "digits", "--out", "o"],
                "map": ["--nir", "g.nir", "--profile", "loihi"],
                "run": ["--profile", "loihi", "--method", "ptq"],
                "simulate": ["--nir", "g.nir", "--profile", "loihi", "--input", "i.npz", "--out", "o.npz"],
                "sweep": ["--profiles", "loihi", "--methods", "ptq"],
                "train": ["--dataset", "digits", "--out", "o"],
                "validate": ["--profile", "loihi", "--random-net", "20"]}
    modules = {"compress": compress, "map": map, "run": run, "simulate": simulate, "sweep": sweep,
               "train": train, "validate": validate}
    return [(name, required[name], opt) for name, module in modules.items() for opt in module.OPTIONS
            if opt.kind is not None]


OPTIONS = _all_options()
texts = st.text(max_size=12) | st.integers(-10**12, 10**12).map(str) | st.sampled_from(
    ["nan", "inf", "-inf", "1e10", "0", "-0", "1_000", "0x10", " 3 ", "", "=", "a=b", "rounds=abc", "/"])


@FAST
@given(case=st.sampled_from(OPTIONS), text=texts)
def test_any_value_of_any_option_parses_or_is_one_line(tmp_path_factory, case, text):
    import os

    command, argv, opt = case
    os.chdir(tmp_path_factory.mktemp("cwd"))  # output checks probe relative paths here
    parser = cli.build_parser()
    try:
        args = parser.parse_args([command, *argv, opt.flag, text])
    except cli.CommandLineError as error:
        assert "\n" not in str(error)
        return
    value = getattr(args, opt.flag.lstrip("-").replace("-", "_"))
    if isinstance(opt.kind, options.Int):
        assert opt.kind.low is None or value >= opt.kind.low
        assert opt.kind.high is None or value <= opt.kind.high
    if isinstance(opt.kind, options.Float):
        assert math.isfinite(value)


@FAST
@given(method=st.sampled_from(sorted(__import__("compress.methods", fromlist=["x"]).available())),
       key=st.sampled_from(["rounds", "unique", "bits", "prune_until", "zero_free", "scope", "x", "rate"]),
       value=st.sampled_from(["abc", "-1", "0", "1", "2.5", "1e309", "NaN", "true", "null", "[1]",
                              "{\"a\": 1}", "\"layer\""]))
def test_any_method_option_is_accepted_or_one_option_error(method, key, value):
    try:
        checked = options.method_options([method], [f"{key}={value}"])
    except UserError as error:
        assert "\n" not in str(error)
    else:
        assert list(checked) == [key]


def test_loihi_parses_back_from_yaml_unchanged():
    # the fuzz starts from this dict; it must be the shipped profile, not a stale copy
    text = (hwprofiles.PROFILES_DIR / "loihi.yaml").read_text()
    assert yaml.safe_load(text)["name"] == LOIHI["name"] == "loihi"
