"""Test support: backend providers that give each test a fresh, isolated database."""
from .provider import BackendProvider, ProviderUnavailable, get_provider, provider_names

__all__ = ["BackendProvider", "ProviderUnavailable", "get_provider", "provider_names"]
