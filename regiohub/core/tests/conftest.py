from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from regiohub.core.auth.oidc import SESSION_METHOD_KEY
from regiohub.core.demo.region import load_region
from regiohub.core.models import Organisation
from regiohub.core.tests.factories import MembershipFactory, UserFactory

SHARED = Path(__file__).resolve().parents[3].parent / "shared"


@pytest.fixture
def region(db: Any) -> dict[str, Organisation]:
    """The demo region: organisations by code (KOR, MEN, ZWVL, W13, ...)."""
    load_region()
    return {o.code: o for o in Organisation.objects.all()}


def staff_client(user: Any) -> Client:
    """A client logged in as ``user`` with the second factor done."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[SESSION_METHOD_KEY] = "password+totp"
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def kortrijk_agent(region: dict[str, Organisation]) -> Any:
    return MembershipFactory(organisation=region["KOR"], agent=True).user


@pytest.fixture
def kortrijk_admin(region: dict[str, Organisation]) -> Any:
    return MembershipFactory(organisation=region["KOR"], admin=True).user


@pytest.fixture
def region_admin(region: dict[str, Organisation]) -> Any:
    return MembershipFactory(organisation=region["ZWVL"], admin=True).user


@pytest.fixture
def superuser(db: Any) -> Any:
    return UserFactory(superuser=True)


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the shared data folder next to the project")
    return path
