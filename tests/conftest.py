"""Hypothesis profiles for the whole suite, chosen by ``HYPOTHESIS_PROFILE``.

- ``dev`` (the default): a quick look, seconds per property.
- ``ci``: the suite in a few minutes on two cores; derandomized, so a CI
  failure reproduces on any machine, and the failing example's blob is printed.
- ``long``: hundreds of thousands of examples, by hand (see README).  Spread
  it over cores with pytest-xdist: ``HYPOTHESIS_PROFILE=long pytest -n auto``.

Tests whose examples are costly (the state machines, attacked scenarios) take
their own budgets per profile: see ``tcpmodel.BUDGETS``.
"""

import os

from hypothesis import HealthCheck, settings

_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile("dev", max_examples=30, deadline=None,
                          suppress_health_check=_SLOW_IS_FINE)
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True,
                          print_blob=True, suppress_health_check=_SLOW_IS_FINE)
settings.register_profile("long", max_examples=100_000, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW_IS_FINE)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
