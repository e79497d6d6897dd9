"""Real parts for the proof tests: the certomancer PKI whose TSA answers over loopback HTTP
(the signing tests' fixture), and a container configured with that TSA."""
from __future__ import annotations

import dataclasses

import pytest

from tests.signing.conftest import pki  # noqa: F401 - session fixture: Animator TSA on 127.0.0.1


@pytest.fixture
def tsa_container(container, pki):  # noqa: F811
    """The service container with RECOUVRE_TSA_URL pointing at the loopback TSA."""
    container.settings = dataclasses.replace(
        container.settings, environ={**container.settings.environ, "RECOUVRE_TSA_URL": pki.tsa_url})
    return container
