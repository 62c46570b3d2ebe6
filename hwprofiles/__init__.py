"""hwprofiles: one YAML file per real chip, every number with its published source, and the loader.

``load("loihi")`` returns a validated, frozen :class:`ChipProfile`; ``available()`` lists the shipped
names. The file format is documented in ``docs/adding-a-profile.md``.
"""

from hwprofiles.errors import ProfileError, UserError
from hwprofiles.loader import PROFILES_DIR, available, load, resolve
from hwprofiles.profile import ChipProfile, CoreLimits, CoreMemory, Energy, Latency, Mesh, NeuronModel

__all__ = [
    "PROFILES_DIR",
    "ChipProfile",
    "CoreLimits",
    "CoreMemory",
    "Energy",
    "Latency",
    "Mesh",
    "NeuronModel",
    "ProfileError",
    "UserError",
    "available",
    "load",
    "resolve",
]
