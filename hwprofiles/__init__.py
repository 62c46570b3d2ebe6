"""hwprofiles: one YAML file per real chip, every number with its published source, and the loader."""

from hwprofiles.errors import ProfileError, UserError
from hwprofiles.profile import ChipProfile, CoreLimits, CoreMemory, Energy, Latency, Mesh, NeuronModel

__all__ = [
    "ChipProfile",
    "CoreLimits",
    "CoreMemory",
    "Energy",
    "Latency",
    "Mesh",
    "NeuronModel",
    "ProfileError",
    "UserError",
]
