"""The backend conformance kit: providers, capability gates and the shared test suites.

``plugin`` is the pytest plugin (fixtures ``provider``, ``backend``,
``backend_factory``); ``conformance`` holds the test classes.
"""
from .capability import missing, requires
from .provider import (
    BackendProvider,
    GenericProvider,
    ProviderUnavailable,
    get_provider,
    provider_names,
    register_provider,
    registered_providers,
)

__all__ = [
    "BackendProvider", "GenericProvider", "ProviderUnavailable", "get_provider", "missing",
    "provider_names", "register_provider", "registered_providers", "requires",
]
