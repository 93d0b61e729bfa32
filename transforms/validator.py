"""Great Expectations, imported the one way every ctip process imports it: importing this module imports it.

Great Expectations imports, when it is imported, what only a few of its expectations use when they run: the
statistics of `scipy.stats` (the Kolmogorov-Smirnov and KL-divergence expectations) and the `altair` charts
of the KL divergence's pages. ctip's suites use none of them, yet importing them was a third of importing
Great Expectations (1.5 to 2.5 s of 4 to 7 s on a two-core machine), before any row of a run is judged.
Here each of them is a module loaded on first use (`LoadedOnUse`): the module Great Expectations' code holds
is a stand-in that imports the real one the first time anything is asked of it and answers from it from then
on, so an expectation that does use them works as before, only its first use pays the import.

It also imports SQLAlchemy when it is installed (the orchestrator needs it), for its SQL data sources, which
ctip never uses: SQLAlchemy is optional to Great Expectations, which works without it (its SQL sources say so
when asked for). While Great Expectations is imported, the thread that imports it is told that SQLAlchemy is
not installed (`LEFT_OUT`; 0.5 to 0.7 s); any other thread imports it as ever, and so does every import after.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager

from transforms import collector

LOADED_ON_USE = ("scipy.stats", "altair")
LEFT_OUT = ("sqlalchemy",)


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


def _load_on_use(names: tuple[str, ...]) -> None:
    """A stand-in in `sys.modules` for each module of `names` not imported yet."""
    for name in names:
        if name not in sys.modules:
            stand_in = LoadedOnUse(name)
            # a spec without a loader: the import system and `importlib.util.find_spec` take it as it is, and a spec
            # found for the real module would import its parents (numpy and scipy: 0.45 s) before they are needed
            stand_in.__spec__ = importlib.machinery.ModuleSpec(name, None)
            sys.modules[name] = stand_in


class LeftOut(importlib.abc.MetaPathFinder):
    """Finds the packages of `packages` (and their modules) not installed, for imports by the thread that made it;
    leaves every other import, and every import by another thread, to the finders after it."""

    def __init__(self, packages: tuple[str, ...]):
        self.packages = packages
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path=None, target=None):
        if threading.get_ident() == self.thread and name.partition(".")[0] in self.packages:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


@contextmanager
def _left_out(packages: tuple[str, ...]) -> Iterator[None]:
    """Within the block, this thread finds the packages of `packages` not installed, unless already imported."""
    finder = LeftOut(packages)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


with collector.paused(), _left_out(LEFT_OUT):  # importing Great Expectations: many objects, none of them garbage
    _load_on_use(LOADED_ON_USE)
    import great_expectations as gx
    import great_expectations.expectations as gxe

    # before the collector resumes: its first pass would walk every object the import made (0.12 s), and its later
    # passes again while the run reads its files beside it (0.3 s more for 3,564 small files than for 1,200)
    collector.set_aside_what_is_alive()

__all__ = ["LEFT_OUT", "LOADED_ON_USE", "LeftOut", "LoadedOnUse", "gx", "gxe"]
