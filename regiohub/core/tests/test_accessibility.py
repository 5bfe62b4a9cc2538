"""The base layout and the staff pages meet WCAG 2.1 AA (axe-core in headless Chromium)."""

from __future__ import annotations

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from regiohub.core.testing import axe_violations, chromium_page
from regiohub.core.tests.factories import PASSWORD, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_public_pages_have_no_wcag_violations(live_server, region, language):
    with chromium_page() as page:
        page.context.add_cookies(
            [{"name": "regiohub_language", "value": language, "url": live_server.url}]
        )
        for path in ["/", "/account/login/"]:
            page.goto(live_server.url + path)
            assert page.locator("html").get_attribute("lang") == language
            assert axe_violations(page) == [], path
        # The error state of a form is accessible too.
        page.click("button[type=submit] >> text=/./ >> nth=-1")
        assert axe_violations(page) == []


def test_skip_link_is_the_first_stop_and_moves_focus_to_main(live_server, region):
    with chromium_page() as page:
        page.goto(live_server.url + "/")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.className")
        assert focused == "skip-link"
        assert page.locator(".skip-link").is_visible()
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"


def test_pages_fit_a_phone_screen(live_server, region):
    with chromium_page(width=360, height=740) as page:
        for path in ["/", "/account/login/"]:
            page.goto(live_server.url + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, path
            assert axe_violations(page) == [], path


def test_staff_login_with_authenticator_and_staff_pages_are_accessible(live_server, region):
    person = MembershipFactory(organisation=region["KOR"], admin=True).user
    with chromium_page() as page:
        page.goto(live_server.url + "/staff/")
        assert "/account/login/" in page.url
        page.fill("#id_username", person.email)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit] >> nth=-1")
        assert page.url.endswith("/account/login/app/")
        assert axe_violations(page) == []
        secret = page.locator("code.secret").inner_text()
        assert re.fullmatch(r"[A-Z2-7 ]+", secret)
        device = TOTPDevice.objects.get(user=person, confirmed=False)
        page.fill("#id_token", f"{totp(device.bin_key):06d}")
        page.click("button[type=submit] >> nth=-1")
        assert page.url.endswith("/staff/")
        assert axe_violations(page) == []
        page.click("text=Kortrijk")
        assert page.url.endswith("/staff/organisations/KOR/")
        assert axe_violations(page) == []
        page.click("a[href$='/departments/new/']")
        page.wait_for_url("**/departments/new/")
        page.wait_for_load_state()
        page.click("button[type=submit] >> nth=-1")  # empty form: errors shown
        # A click does not wait for the page it starts to load: wait for the errors.
        page.wait_for_selector("#form-errors", state="visible")
        assert axe_violations(page) == []


@pytest.mark.parametrize("javascript", [True, False])
def test_api_token_pages_are_accessible_and_work_without_javascript(
    live_server, region, javascript
):
    """Create a token, see it once, find it in the list, revoke it: each page passes axe
    (the administrators' list too), and the same steps work in a browser without
    JavaScript (where axe, a script, cannot run)."""
    from regiohub.core.models import ApiToken, Membership
    from regiohub.core.roles import Role
    from regiohub.core.testing import login_page_as

    person = MembershipFactory(organisation=region["KOR"], admin=True).user
    Membership.objects.create(user=person, organisation=region["MEN"], role=Role.EMPLOYEE)

    def violations(page):
        return axe_violations(page) if javascript else []

    with chromium_page(javascript=javascript) as page:
        login_page_as(page, person, live_server.url)
        page.context.add_cookies(
            [{"name": "regiohub_language", "value": "en", "url": live_server.url}]
        )
        page.goto(live_server.url + "/account/api-tokens/")
        assert violations(page) == [], "empty list"
        page.click("a[href$='/account/api-tokens/new/']")
        page.wait_for_url("**/api-tokens/new/")
        page.check("#id_reach_1")  # only the ticked organisations, and none ticked
        page.click("form.stacked button[type=submit]")
        page.wait_for_selector("#form-errors", state="visible")
        assert violations(page) == [], "form with errors"
        page.fill("#id_name", "Power BI")
        page.check("#id_scope_1")
        page.check("label:has-text('Kortrijk') >> xpath=preceding-sibling::input")
        page.click("form.stacked button[type=submit]")
        page.wait_for_selector("#token-secret")
        secret = page.input_value("#token-secret")
        assert re.fullmatch(r"rh_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", secret)
        assert violations(page) == [], "the token, shown once"
        page.click("text=I have copied it")
        page.wait_for_url("**/account/api-tokens/")
        assert "Power BI" in page.content() and secret not in page.content()
        assert violations(page) == [], "list"
        page.click("a[href$='/revoke/']")
        page.wait_for_url("**/revoke/")
        assert violations(page) == [], "revoke"
        page.click("button:has-text('Revoke token')")
        page.wait_for_url("**/account/api-tokens/")
        assert ApiToken.objects.get().revoked_at is not None
        page.goto(live_server.url + "/staff/api-tokens/")
        assert "Power BI" in page.content()
        assert violations(page) == [], "administrators' list"
