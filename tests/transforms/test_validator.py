"""Great Expectations imported the way ctip imports it: what only some of its expectations use is loaded when
one of them first uses it, and works as before from then on."""

from __future__ import annotations

import json

from tests.conftest import run_python

CHILD = r"""
import json, sys
from transforms.validator import LOADED_ON_USE, LoadedOnUse, gx
from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
seen = {"after_import": {name: type(sys.modules[name]).__name__ for name in LOADED_ON_USE}}
seen["held_by_great_expectations"] = type(kl.stats).__name__
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
    assert abs(seen["entropy"] - (0.5 * 0.6931471805599453 + 0.5 * -0.4054651081081644)) < 1e-12
    assert seen["after_use"] == "module" and seen["real_has_file"]
    assert seen["same_function"]
    assert seen["submodule"] == 0.5
    assert seen["chart"] == "type" and seen["altair_after_use"] == "module"
