"""Python's garbage collector: held off where a step makes many objects that are never garbage while it runs, and
kept from walking again what stays loaded for the life of the process."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection until the block ends; collections resume as before after it (or after its error).

    The collector runs after every few hundred new objects and, every so often, walks every object of the
    process. Where a step makes hundreds of thousands of objects that stay alive (a file's rows as read; the
    modules and classes of Great Expectations as it is imported), those walks are all the collector does, and
    they cost more than the step: two thirds of the time of reading the largest file admitted, a tenth of
    importing Great Expectations. Nested or concurrent pauses leave the collector as the outermost found it."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def set_aside_what_is_alive() -> None:
    """The objects alive now (the modules of Great Expectations once it is loaded and what they hold: about 300,000
    objects) left out of every later collection (`gc.freeze`). Without it, the objects a run makes for its many
    files set off full passes that each walk all of them again (half a second each on a two-core machine);
    objects made later are still freed as before."""
    gc.freeze()
