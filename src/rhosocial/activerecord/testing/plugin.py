"""The pytest plugin of the conformance kit: ``provider``, ``backend`` and ``backend_factory``.

Load it from your test suite's top-level ``conftest.py``::

    pytest_plugins = ["rhosocial.activerecord.testing.plugin"]

Every test that uses ``backend`` runs once per chosen provider. The choice is
``--rhosocial-backends=a,b``, else ``RHOSOCIAL_TEST_BACKENDS``, else the ini
setting ``rhosocial_backends``, else every registered provider. A provider
whose database cannot be reached skips its tests with a hint, except under
``CI=true``, where it fails the run. ``@pytest.mark.requires("flag", ...)``
skips a test on a backend whose capabilities lack a flag, naming the flag.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from ..backend.base import StorageBackend
from .capability import missing
from .provider import BackendProvider, ProviderUnavailable, get_provider, provider_names


def in_ci() -> bool:
    """Return whether ``CI`` asks for unreachable servers to fail the run."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--rhosocial-backends`` and the ``rhosocial_backends`` ini setting."""
    parser.addoption("--rhosocial-backends", default=None,
                     help="comma-separated test providers to run the backend tests on")
    parser.addini("rhosocial_backends", "default test providers (comma-separated)", default="")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``requires`` marker."""
    config.addinivalue_line(
        "markers", "requires(*flags): skip unless the backend claims these capability flags")


def chosen_providers(config: pytest.Config) -> list[str]:
    """Return the provider names this run uses."""
    option = config.getoption("--rhosocial-backends")
    if option:
        return [n.strip() for n in option.split(",") if n.strip()]
    return provider_names(config.getini("rhosocial_backends") or None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every test that needs a provider by the chosen providers."""
    if "provider" in metafunc.fixturenames:
        names = chosen_providers(metafunc.config)
        metafunc.parametrize("provider", names, indirect=True, scope="session")


def prepared_provider(name: str, config: pytest.Config | None = None) -> Iterator[BackendProvider]:
    """Yield provider ``name`` prepared for a session, and tear it down afterwards.

    Skips when the provider is not chosen for this run (given ``config``) or
    its database is unreachable; under ``CI=true`` an unreachable server fails
    instead. Vendor-specific suites build their session fixtures on this.
    """
    if config is not None and name not in chosen_providers(config):
        pytest.skip(f"{name} is not among the backends chosen for this run (RHOSOCIAL_TEST_BACKENDS)")
    try:
        p = get_provider(name)
    except KeyError as exc:
        pytest.fail(str(exc.args[0]), pytrace=False)
    try:
        p.setup_session()
    except ProviderUnavailable as exc:
        if in_ci() and p.needs_server:
            pytest.fail(f"{name} is required under CI but unavailable: {exc}", pytrace=False)
        pytest.skip(f"{name} unavailable: {exc}")
    yield p
    p.teardown_session()


@pytest.fixture(scope="session")
def provider(request: pytest.FixtureRequest) -> Iterator[BackendProvider]:
    """A backend provider prepared for this session."""
    yield from prepared_provider(request.param)


@pytest.fixture
def backend(provider: BackendProvider, request: pytest.FixtureRequest) -> Iterator[StorageBackend]:
    """A fresh, connected backend on an empty database."""
    b = provider.create_backend()
    try:
        b.connect()
        flags = [f for mark in request.node.iter_markers("requires") for f in mark.args]
        absent = missing(b.capabilities, *flags)
        if absent:
            pytest.skip(f"{b.name}: {', '.join(absent)} is false")
        yield b
    finally:
        provider.reset(b)


@pytest.fixture
def backend_factory(provider: BackendProvider) -> Iterator[Callable[[], StorageBackend]]:
    """Make more backends on the same database (for tests that need two connections)."""
    made: list[StorageBackend] = []

    def make() -> StorageBackend:
        b = provider.create_backend()
        made.append(b)
        return b

    yield make
    for b in made:
        b.disconnect()


