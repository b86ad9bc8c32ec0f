"""Load the conformance kit's fixtures; ``rhosocial_backends = "duckdb"`` picks the provider."""
pytest_plugins = ["rhosocial.activerecord.testing.plugin"]
