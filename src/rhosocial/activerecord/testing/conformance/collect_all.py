"""Collects every conformance suite; ``python -m rhosocial.activerecord check`` runs this file."""
from rhosocial.activerecord.testing.conformance import *
