"""Great Expectations, imported the one way every ctip process imports it: importing this module imports it.

Great Expectations imports, when it is imported, what only a few of its expectations use when they run: the
statistics of `scipy.stats` (the Kolmogorov-Smirnov and KL-divergence expectations) and the `altair` charts
of the KL divergence's pages. ctip's suites use none of them, yet importing them was a third of importing
Great Expectations (1.5 to 2.5 s of 4 to 7 s on a two-core machine), before any row of a run is judged.
Here each of them is a module loaded on first use (`LoadedOnUse`): the module Great Expectations' code holds
is a stand-in that imports the real one the first time anything is asked of it and answers from it from then
on, so an expectation that does use them works as before, only its first use pays the import.
"""

from __future__ import annotations

import importlib
import sys
import types

from transforms import collector

LOADED_ON_USE = ("scipy.stats", "altair")


class LoadedOnUse(types.ModuleType):
    """A module that imports the real module of its name the first time one of its attributes is read, and
    gives the real module's attributes from then on; `sys.modules` holds the real module from then on too."""

    def __getattr__(self, attribute: str):
        real = self.__dict__.get("_real")
        if real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = importlib.import_module(self.__name__)
            self.__dict__["_real"] = real
        return getattr(real, attribute)

    @property
    def loaded(self) -> bool:
        """Whether the real module has been imported."""
        return "_real" in self.__dict__


def _load_on_use(names: tuple[str, ...]) -> None:
    """A stand-in in `sys.modules` for each module of `names` not imported yet."""
    for name in names:
        if name not in sys.modules:
            stand_in = LoadedOnUse(name)
            stand_in.__spec__ = None  # nothing is being imported: the import system asks, and takes it as it is
            sys.modules[name] = stand_in


with collector.paused():  # importing Great Expectations: many objects at once, none of them garbage
    _load_on_use(LOADED_ON_USE)
    import great_expectations as gx
    import great_expectations.expectations as gxe

__all__ = ["LOADED_ON_USE", "LoadedOnUse", "gx", "gxe"]
