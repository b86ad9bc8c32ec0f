"""The rhosocial backend conformance kit, run on DuckDB."""
from rhosocial.activerecord.testing.conformance import *
