"""The backend conformance kit, run on the built-in backends.

The suites live in :mod:`rhosocial.activerecord.testing.conformance` so that any
backend package can run the very same tests; importing them here collects them
once per provider chosen by ``RHOSOCIAL_TEST_BACKENDS``.
"""
from rhosocial.activerecord.testing.conformance import *
