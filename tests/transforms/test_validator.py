"""Great Expectations imported the way ctip imports it: what only some of its expectations use is loaded when
one of them first uses it, and works as before from then on; SQLAlchemy, which only its SQL data sources use, is
not imported with it, and is still there for anything else that imports it."""

from __future__ import annotations

import json

from tests.conftest import run_python

CHILD = r"""
import json, sys
from transforms.validator import LOADED_ON_USE, LoadedOnUse, gx
from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
seen = {"after_import": {name: type(sys.modules[name]).__name__ for name in LOADED_ON_USE}}
seen["sqlalchemy_after_import"] = "sqlalchemy" in sys.modules
from great_expectations.compatibility import sqlalchemy as gx_sqlalchemy
seen["great_expectations_without_sqlalchemy"] = type(gx_sqlalchemy.sqlalchemy).__name__
import sqlalchemy  # anything else imports it as ever
seen["sqlalchemy_imported_after"] = sqlalchemy.__name__ == "sqlalchemy"
seen["held_by_great_expectations"] = type(kl.stats).__name__
import importlib.util
seen["found"] = importlib.util.find_spec("altair").name  # asked whether it is there: it is, and stays a stand-in
seen["still_stand_in"] = type(sys.modules["altair"]).__name__
seen["entropy"] = kl.stats.entropy([0.5, 0.5], [0.25, 0.75])  # the first use imports scipy.stats
seen["after_use"] = type(sys.modules["scipy.stats"]).__name__
seen["real_has_file"] = sys.modules["scipy.stats"].__file__.endswith("__init__.py")
from scipy.stats import entropy
seen["same_function"] = entropy is kl.stats.entropy
import scipy.stats.distributions  # a submodule of a module loaded on use
seen["submodule"] = scipy.stats.distributions.norm.cdf(0.0)
seen["chart"] = type(kl.alt.Chart).__name__
seen["altair_after_use"] = type(sys.modules["altair"]).__name__
print(json.dumps(seen))
"""


def test_what_only_some_expectations_use_is_loaded_on_first_use_and_works_as_before():
    done = run_python(CHILD)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["after_import"] == {"scipy.stats": "LoadedOnUse", "altair": "LoadedOnUse"}
    assert seen["held_by_great_expectations"] == "LoadedOnUse"
    assert seen["found"] == "altair" and seen["still_stand_in"] == "LoadedOnUse"
    assert not seen["sqlalchemy_after_import"] and seen["great_expectations_without_sqlalchemy"] == "NotImported"
    assert seen["sqlalchemy_imported_after"]
    assert abs(seen["entropy"] - (0.5 * 0.6931471805599453 + 0.5 * -0.4054651081081644)) < 1e-12
    assert seen["after_use"] == "module" and seen["real_has_file"]
    assert seen["same_function"]
    assert seen["submodule"] == 0.5
    assert seen["chart"] == "type" and seen["altair_after_use"] == "module"


def test_a_package_left_out_is_left_out_for_the_thread_that_imports_only():
    import threading

    import pytest

    from transforms.validator import LeftOut

    finder = LeftOut(("sqlalchemy",))
    with pytest.raises(ModuleNotFoundError):
        finder.find_spec("sqlalchemy.engine")
    assert finder.find_spec("sqlalchemy_utils") is None and finder.find_spec("polars") is None
    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(finder.find_spec("sqlalchemy")))
    thread.start()
    thread.join()
    assert elsewhere == [None]  # another thread: left to the finders after it
