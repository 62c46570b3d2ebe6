"""One table of option specs: each option's type, range, default and help come from one :class:`Opt`.

A command lists its options as a tuple of ``Opt`` (adding an option is one line there) and calls
:func:`add`. The value type (:class:`Int`, :class:`Float`, :class:`Choice`, :class:`OutFile`...) both
parses and checks the value when argparse reads it and writes the range into the help text, so the help
and the check cannot disagree, and a bad value is one line and exit 2 before any work starts (``--seed -1``
used to reach scikit-learn; ``--steps 10000000000`` used to reach ``np.zeros``). Options several commands
share (``SEED``, ``DEVICE``, ``DT``...) are defined once below.

``--option KEY=VALUE`` pairs are checked against the method's constructor by :func:`method_options`.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import paths
from hwprofiles.errors import UserError

MAX_SEED = 2**32 - 1  # numpy's and scikit-learn's legacy seeds are uint32
MAX_EPOCHS = 100_000
MAX_TRAIN_STEPS = 10_000  # time steps T per training sample (BPTT memory grows with T)
MAX_SIM_STEPS = 10_000_000  # simulated time steps: 10^7 takes ~20 s in the engine; 10^8 does not fit memory
MAX_SAMPLES = 1_000_000
MAX_RANDOM_NET = 10_000  # random_network draws dense n x n connection masks
MAX_UNIQUE = 2**16  # chipsim's weight-table index is uint16
MAX_DT_S = 10.0  # the profile schema's bound on time_step_s


class OptionError(UserError):
    """A command-line value the code cannot take: names the option, what was expected and what was found."""


@dataclass(frozen=True)
class Int:
    """An integer in ``low..high`` (either end open when None)."""

    low: int | None = None
    high: int | None = None

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"an integer in {self.low}..{self.high}"
        if self.low is not None:
            return f"an integer >= {self.low}"
        return "an integer" if self.high is None else f"an integer <= {self.high}"

    def __call__(self, text: str, flag: str = "") -> int:
        try:
            value = int(text.strip().replace("_", ""), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {text!r}") from None
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {value}")
        return value


@dataclass(frozen=True)
class Float:
    """A finite number in ``[low, high]`` (either end open when ``low_open`` / ``high_open``)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        if self.low is not None and self.high is not None and not (self.low_open or self.high_open):
            return f"a number in {self.low:g}..{self.high:g}"
        low = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        high = "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
        return "a number " + " and ".join(p for p in (low, high) if p) if low or high else "a number"

    def __call__(self, text: str, flag: str = "") -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {text!r}") from None
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if not math.isfinite(value) or too_low or too_high:
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {text!r}")
        return value


@dataclass(frozen=True)
class Choice:
    choices: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)

    def __call__(self, text: str, flag: str = "") -> str:
        if text not in self.choices:
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {text!r}")
        return text


@dataclass(frozen=True)
class Text:
    """A non-empty string (a name, a path to read: its reader says what is wrong with the file)."""

    def describe(self) -> str:
        return ""

    def __call__(self, text: str, flag: str = "") -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError("expected a non-empty value, got ''")
        return text


@dataclass(frozen=True)
class Architecture:
    """A preset network name of :data:`compress.architectures.PRESETS`, or a JSON file of ModelConfig
    fields (its reader says what is wrong inside it)."""

    def describe(self) -> str:
        return ""

    def __call__(self, text: str, flag: str = "") -> str:
        if text in PRESET_NAMES or (text.endswith(".json") and Path(text).is_file()):
            return text
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(PRESET_NAMES)} or a JSON file of "
                                         f"ModelConfig fields, got {text!r}")


PRESET_NAMES = ("mlp", "cnn", "vgg11", "resnet", "rlif")
"""The names of :data:`compress.architectures.PRESETS`, here so that checking ``--model`` (and its default,
which argparse checks on every command line) does not import torch, 1.4 s before a bad profile or option
could be refused (tests/test_cli_errors.py keeps the two lists equal)."""


@dataclass(frozen=True)
class Names:
    """A comma-separated list of at least one name."""

    def describe(self) -> str:
        return "comma-separated"

    def __call__(self, text: str, flag: str = "") -> tuple[str, ...]:
        names = tuple(n.strip() for n in text.split(",") if n.strip())
        if not names:
            raise argparse.ArgumentTypeError(f"expected at least one name, got {text!r}")
        return names


@dataclass(frozen=True)
class OutFile:
    """A file to write (checked by :func:`harness.paths.output_file` when parsed), with one of
    ``suffixes`` when the writer picks its format from the name."""

    suffixes: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"a {' or '.join(self.suffixes)} file" if self.suffixes else ""

    def __call__(self, text: str, flag: str = "") -> str:
        if self.suffixes and not text.lower().endswith(self.suffixes):
            raise argparse.ArgumentTypeError(f"expected a file name ending {' or '.join(self.suffixes)}, "
                                             f"got {text!r}")
        try:
            return str(paths.output_file(text, flag))
        except paths.OutputPathError as error:
            raise argparse.ArgumentTypeError(str(error).removeprefix(f"{flag} ")) from None


@dataclass(frozen=True)
class OutFolder:
    """A folder to write into, created when needed (checked by :func:`harness.paths.output_folder`)."""

    def describe(self) -> str:
        return ""

    def __call__(self, text: str, flag: str = "") -> str:
        try:
            return str(paths.output_folder(text, flag))
        except paths.OutputPathError as error:
            raise argparse.ArgumentTypeError(str(error).removeprefix(f"{flag} ")) from None


@dataclass(frozen=True)
class Opt:
    """One command-line option: its flag, value type (None: an on/off switch), help and default."""

    flag: str
    kind: Int | Float | Choice | Text | Architecture | Names | OutFile | OutFolder | None
    help: str
    default: object = None
    required: bool = False
    metavar: str | None = None
    repeat: bool = False  # may be given several times: a list of values
    group: str | None = None  # options of one group are mutually exclusive, and one is required

    def but(self, **changes) -> Opt:
        """This option with some fields changed (a command's own help or default)."""
        return dataclasses.replace(self, **changes)

    def help_text(self) -> str:
        parts = [self.kind.describe()] if self.kind is not None and self.kind.describe() else []
        if self.default is not None and self.default is not False and not self.repeat:
            parts.append(f"default {self.default}")
        if not parts:
            return self.help
        if self.help.endswith(")"):  # "weight bits (default: the profile's; an integer in 1..32)"
            return f"{self.help[:-1]}; {'; '.join(parts)})"
        return f"{self.help} ({'; '.join(parts)})"

    def argparse_kwargs(self) -> dict:
        if self.kind is None:
            return {"action": "store_true", "help": self.help}
        kind, flag = self.kind, self.flag

        def parse(text: str):
            return kind(text, flag)

        parse.__name__ = type(kind).__name__.lower()
        kwargs = {"type": parse, "help": self.help_text(), "metavar": self.metavar}
        if isinstance(kind, Choice) and self.metavar is None:
            kwargs["metavar"] = "{" + ",".join(kind.choices) + "}"
        if self.repeat:
            kwargs |= {"action": "append", "default": []}
        else:
            kwargs["default"] = self.default
        if self.required and self.group is None:
            kwargs["required"] = True
        return kwargs


def add(parser: argparse.ArgumentParser, options: Sequence[Opt]) -> None:
    """Add every option of ``options`` to ``parser`` (grouped options into one required exclusive group)."""
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for opt in options:
        target = parser
        if opt.group is not None:
            if opt.group not in groups:
                groups[opt.group] = parser.add_mutually_exclusive_group(required=True)
            target = groups[opt.group]
        target.add_argument(opt.flag, **opt.argparse_kwargs())


# ------------------------------------------------------------------ options several commands share

SEED = Opt("--seed", Int(0, MAX_SEED), "random seed of the data split, weight init and input spikes",
           default=0)
DEVICE = Opt("--device", Choice(("auto", "cpu", "cuda")), "torch device for training", default="auto")
MODEL = Opt("--model", Choice(("mlp", "cnn")), "network architecture", default="mlp")
ARCHITECTURE = MODEL.but(kind=Architecture(), help="mlp | cnn | vgg11 | resnet | rlif, or a JSON file of "
                                                   "ModelConfig fields (compress.architectures)")
DATASET = Opt("--dataset", Text(), "digits | mnist | fashion-mnist | cifar10 | nmnist | dvs-gesture | shd | "
              "cifar10-dvs", required=True)
DATA_DIR = Opt("--data-dir", Text(), "folder holding the dataset files (all but digits)")
EVENT_OPTIONS = (  # how an event dataset's events become T = --steps frames (compress.datasets.events)
    Opt("--bin-by", Choice(("time", "count")), "event datasets: bins of equal time or equal event count",
        default="time"),
    Opt("--polarity", Choice(("1", "2")), "event datasets: 2 channels (OFF, ON) or 1 (merged)", default="2"),
    Opt("--downsample", Int(1, 1024), "event datasets: integer factor on x and y (SHD: on the channel)",
        default=1),
)
PROFILE = Opt("--profile", Text(), "chip profile name (harness profiles list) or YAML path", required=True)
METHOD = Opt("--method", Text(), "compression method (unknown: lists the known ones)", required=True)
NIR = Opt("--nir", Text(), "NIR graph file (HDF5, nir.write)", required=True)
EPOCHS = Opt("--epochs", Int(0, MAX_EPOCHS), "the method's training budget in epochs (default 10)")
DENSE_EPOCHS = Opt("--dense-epochs", Int(0, MAX_EPOCHS),
                   "epochs of the dense model (default: harness train's)")
TRAIN_STEPS = Opt("--steps", Int(1, MAX_TRAIN_STEPS), "time steps T per sample (default: harness train's)")
SIM_STEPS = Opt("--steps", Int(1, MAX_SIM_STEPS), "simulated time steps")
SAMPLES = Opt("--samples", Int(1, MAX_SAMPLES), "test samples simulated on chip (default: all)")
CORES = Opt("--cores", Int(1), "fit on at most N cores of the profile (default: all it has)")
SPARSITY = Opt("--sparsity", Float(0.0, 1.0, high_open=True), "fraction of weights that must be zero")
BITS = Opt("--bits", Int(1, 32), "weight bits (signed grid; default: the profile's)")
UNIQUE = Opt("--unique", Int(1, MAX_UNIQUE),
             "distinct weight values allowed per group (default: the profile's)")
DT = Opt("--dt", Float(0.0, MAX_DT_S, low_open=True),
         "time step, s (default: the graph's dt_s, else the profile's)")
INTEGRATOR = Opt("--integrator", Choice(("euler", "exact")), "how time constants become per-step factors",
                 default="euler")
OPTION = Opt("--option", Text(), "method-specific option, value parsed as JSON when it parses (repeatable)",
             metavar="KEY=VALUE", repeat=True)
JSON_OUT = Opt("--json", OutFile(), "write the figures here as JSON")
OUT_FOLDER = Opt("--out", OutFolder(), "output folder", required=True)
CACHE_DIR = Opt("--cache-dir", OutFolder(), "cache of dense and compressed models")


# ------------------------------------------------------------------ --option KEY=VALUE of a method

def parse_pairs(pairs: Sequence[str]) -> dict:
    """['k=v', ...] -> {k: JSON value, or the string when it is not JSON}."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"--option expects KEY=VALUE, got '{pair}'")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


_TYPE_NAMES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}
_DESCRIBED = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
              "None": "null"}


def _accepted(param: inspect.Parameter) -> list[str]:
    """Type names a constructor parameter takes, from its annotation (else its default's type)."""
    note = param.annotation
    if isinstance(note, str) and note != "":
        names = [part.strip() for part in note.split("|")]
    elif isinstance(note, type):
        names = [note.__name__]
    elif param.default is not inspect.Parameter.empty:
        names = ["None" if param.default is None else type(param.default).__name__]
    else:
        names = []
    return [n for n in names if n in _DESCRIBED]


def _matches(value: object, names: list[str]) -> bool:
    if value is None:
        return "None" in names
    for name in names:
        types = _TYPE_NAMES.get(name, ())
        if isinstance(value, bool) and name != "bool":
            continue
        if isinstance(value, types) and not (isinstance(value, float) and not math.isfinite(value)):
            return True
    return False


def check_method_options(method: str, cls: Callable, options: dict) -> None:
    """Every key is a keyword of the method's constructor, every value of its type, and the constructor
    accepts them; else OptionError naming the method, the key and what it takes."""
    params = {name: p for name, p in inspect.signature(cls).parameters.items()
              if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    for key, value in options.items():
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            raise OptionError(f"--option {key}: method '{method}' has no option '{key}' "
                              f"(its options: {known})")
        names = _accepted(params[key])
        if names and not _matches(value, names):
            expected = " or ".join(_DESCRIBED[n] for n in names)
            raise OptionError(f"--option {key}: method '{method}' expects {expected}, got {value!r}")
    try:
        cls(**options)
    except (TypeError, ValueError) as error:
        raise OptionError(f"--option: method '{method}' rejects {options}: {error}") from None


def method_options(methods: Sequence[str], pairs: Sequence[str]) -> dict:
    """The ``--option`` pairs as a dict, checked against every method in ``methods`` (unknown method names
    are one line from :func:`compress.methods.require`)."""
    from compress import methods as registry

    options = parse_pairs(pairs)
    for method in methods:
        check_method_options(method, registry.require(method), options)
    return options
