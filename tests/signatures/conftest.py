"""The JSON API client fixture, shared with the API tests."""

from tests.api.conftest import api  # noqa: F401
