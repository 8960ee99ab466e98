"""Hypothesis for the attack tests: the same examples on every run, no example database, no deadline.

The profile "kring" is what CI runs; `HYPOTHESIS_PROFILE=deep` tries ten times as many examples for a
local hunt after changing a form (still derandomized, so a failure found there reproduces). The tests
apply the profile to themselves (`FUZZ` in test_fuzz_forms.py) rather than loading it globally, so
that hypothesis tests elsewhere in the suite keep their own settings.
"""

from typing import Any

from hypothesis import HealthCheck, settings

# Function-scoped fixtures (personas, relations) are shared by all examples of a test: sound here,
# because every example runs inside a savepoint that is rolled back (`rolled_back` in
# test_fuzz_forms.py).
_COMMON: dict[str, Any] = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "print_blob": False,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
}
settings.register_profile("kring", max_examples=40, **_COMMON)
settings.register_profile("deep", max_examples=400, **_COMMON)
