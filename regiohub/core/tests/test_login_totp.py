"""Staff log in with a password and a TOTP code; repeated failures lock the login."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from regiohub.core.tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset)
    return f"{value:06d}"


@pytest.fixture
def person(region):
    return MembershipFactory(organisation=region["KOR"], agent=True).user


def login_password(client: Client, email: str, password: str = PASSWORD, next_url: str = ""):
    data = {"username": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/account/login/", data)


def test_first_login_enrols_an_authenticator_app_then_logs_in(person):
    client = Client()
    response = login_password(client, person.email)
    assert response.status_code == 302 and response["Location"] == "/account/login/app/"
    # Not logged in yet: the staff pages still ask to log in.
    assert client.get("/staff/").status_code == 302

    page = client.get("/account/login/app/")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in page.text
    device = TOTPDevice.objects.get(user=person, confirmed=False)
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page.text).group(1)
    assert len(secret.replace(" ", "")) >= 32

    response = client.post("/account/login/app/", {"token": code_for(device)})
    assert response.status_code == 302 and response["Location"] == "/staff/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/staff/").status_code == 200


def test_enrolled_user_must_give_a_valid_code(person):
    device = TOTPDevice.objects.create(user=person, name="phone", confirmed=True)
    client = Client()
    response = login_password(client, person.email)
    assert response["Location"] == "/account/login/code/"

    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = client.post("/account/login/code/", {"token": wrong})
    assert response.status_code == 200
    assert "niet juist" in response.text or "not correct" in response.text
    assert client.get("/staff/").status_code == 302

    # django-otp throttles after a failure; wait it out like a person would.
    device.refresh_from_db()
    device.throttle_reset()
    response = client.post("/account/login/code/", {"token": code_for(device)})
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200


@pytest.mark.parametrize("token", ["", "abcdef", "12", "1" * 500, "<script>", "１２３４５６"])
def test_malformed_codes_get_a_clear_error(person, token):
    TOTPDevice.objects.create(user=person, name="phone", confirmed=True)
    client = Client()
    login_password(client, person.email)
    response = client.post("/account/login/code/", {"token": token})
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.text
    assert "<script>" not in response.text


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(person):
    response = login_password(Client(), person.email, "wrong password")
    assert response.status_code == 200
    assert "form-errors" in response.text
    assert (
        "do not match an active account" in response.text or "komen niet overeen" in response.text
    )


def test_login_is_locked_after_repeated_failures(person, settings):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert login_password(client, person.email, "guess").status_code == 200
    locked = login_password(client, person.email, "guess")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == settings.LOGIN_COOLOFF_MINUTES * 60
    # Even the right password is refused while locked.
    assert login_password(client, person.email).status_code == 429


def test_wrong_codes_count_towards_the_lockout(person, settings):
    device = TOTPDevice.objects.create(user=person, name="phone", confirmed=True)
    client = Client()
    login_password(client, person.email)
    wrong = f"{(int(code_for(device)) + 7) % 1_000_000:06d}"
    statuses = []
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        device.refresh_from_db()
        device.throttle_reset()
        statuses.append(client.post("/account/login/code/", {"token": wrong}).status_code)
    assert statuses[-1] == 429
    assert login_password(client, person.email).status_code == 429


def test_pending_login_expires(person, monkeypatch):
    client = Client()
    login_password(client, person.email)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 301)
    response = client.get("/account/login/app/")
    assert response.status_code == 302 and response["Location"] == "/account/login/"


def test_next_url_is_followed_but_never_off_site(person):
    device = TOTPDevice.objects.create(user=person, name="phone", confirmed=True)
    for next_url, expected in [
        ("/staff/organisations/KOR/", "/staff/organisations/KOR/"),
        ("https://evil.example/phish", "/staff/"),
        ("//evil.example", "/staff/"),
    ]:
        client = Client()
        login_password(client, person.email, next_url=next_url)
        device.refresh_from_db()
        device.throttle_reset()
        response = client.post("/account/login/code/", {"token": code_for(device)})
        assert response["Location"] == expected
        device.refresh_from_db()
        device.last_t = -1
        device.save()


def test_logout_needs_post_and_ends_the_session(person):
    from regiohub.core.testing import staff_client

    client = staff_client(person)
    assert client.get("/account/logout/").status_code == 405
    assert client.post("/account/logout/").status_code == 302
    assert client.get("/staff/").status_code == 302


def test_admin_requires_the_second_factor(region):
    from regiohub.core.testing import staff_client
    from regiohub.core.tests.factories import UserFactory

    admin = UserFactory(superuser=True)
    half = Client()
    half.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    assert half.get("/admin/").status_code == 302
    assert staff_client(admin).get("/admin/").status_code == 200


def test_logged_in_non_administrator_is_refused_by_the_admin_without_a_loop(region, person):
    from regiohub.core.testing import staff_client

    client = staff_client(person)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/login/?next=/admin/").status_code == 403
