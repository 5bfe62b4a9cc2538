"""A category's extra questions on the citizen's form and in the agent intake: each
subject's questions in its own fieldset, only the chosen subject's answers checked and
filed, errors at the question; the answers shown to staff (report page, CSV export) and
never on the reporter's public follow-up page. Questions are configured in the admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from regiohub.core.testing import staff_client
from regiohub.meldpunt.demo import load_attributes
from regiohub.meldpunt.forms import ReportForm
from regiohub.meldpunt.models import Category, CategoryAttribute, Report
from regiohub.meldpunt.tests.factories import MENEN_CENTRE, file_report
from regiohub.meldpunt.tests.test_inbox_export import column, download
from regiohub.meldpunt.tests.test_public_form import URL, form_data
from regiohub.meldpunt.tests.test_staff_pages import intake_data, page_url
from regiohub.meldpunt.views.public import apply_service_errors

pytestmark = pytest.mark.django_db

BLOCKED = "attribute__pothole__road-blocked"
LAMP = "attribute__street-light__lamp-number"


@pytest.fixture
def questions(categories):
    load_attributes()
    return categories


@pytest.fixture
def english(client):
    client.cookies["regiohub_language"] = "en"
    return client


def browser(user):
    client = staff_client(user)
    client.cookies["regiohub_language"] = "en"
    return client


# --- The citizen's form -----------------------------------------------------------------


def test_each_subjects_questions_are_in_a_fieldset_of_their_own(english, questions):
    html = english.get(URL).content.decode()
    assert html.count("data-questions-for=") == 2
    assert 'data-questions-for="pothole"' in html and 'data-questions-for="street-light"' in html
    # Without JavaScript all show, each under the subject it belongs to.
    assert "Only for “Pothole or damaged road”" in html
    assert "Only for “Street light out”" in html
    assert "Answer only those of the subject you chose." in html
    # A list is a group of radio buttons with its question as legend; a required question
    # is not marked optional, an optional one is.
    assert "<legend>Is the road blocked?</legend>" in html
    assert f'name="{BLOCKED}" value="yes"' in html and f'name="{BLOCKED}" value="no"' in html
    assert f'<label for="id_{LAMP}">Lamp number (on the pole) <span class="meta">(optional)' in html
    assert f'id="id_{LAMP}_help"' in html and f'aria-describedby="id_{LAMP}_help"' in html
    assert "subject-questions.js" in html


def test_without_questions_the_form_has_none(english, categories):
    html = english.get(URL).content.decode()
    assert "data-questions-for" not in html and "Only for" not in html


def test_the_chosen_subjects_answers_are_filed_and_the_others_ignored(english, questions):
    response = english.post(URL, form_data(**{BLOCKED: "yes", LAMP: "12/345"}))
    assert response.status_code == 302
    assert Report.objects.get().attributes == {"road-blocked": "yes"}


def test_an_optional_answer_is_filed_for_its_subject(english, questions):
    response = english.post(URL, form_data(category="street-light", **{LAMP: " 12/345 "}))
    assert response.status_code == 302
    assert Report.objects.get().attributes == {"lamp-number": "12/345"}


def test_a_missing_required_answer_is_shown_at_the_question(english, questions):
    response = english.post(URL, form_data())
    assert response.status_code == 200
    assert response.context["form"].errors == {BLOCKED: ["Answer this question."]}
    html = response.content.decode()
    assert f'<p class="error" id="id_{BLOCKED}_error_1">Answer this question.</p>' in html
    # The summary at the top links to the first answer.
    assert f'<a href="#id_{BLOCKED}_0">Is the road blocked? Answer this question.</a>' in html
    assert not Report.objects.exists()


def test_a_required_question_of_another_subject_is_not_asked(english, questions):
    response = english.post(URL, form_data(category="street-light"))
    assert response.status_code == 302
    assert Report.objects.get().attributes == {}


def test_a_wrong_answer_is_refused_at_its_question(english, questions):
    response = english.post(URL, form_data(**{BLOCKED: "perhaps"}))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [BLOCKED]
    response = english.post(URL, form_data(category="street-light", **{LAMP: "x" * 201}))
    assert response.context["form"].errors[LAMP] == [
        "Ensure this value has at most 200 characters (it has 201)."
    ]
    assert not Report.objects.exists()


def test_numbers_and_dates_are_read_as_people_type_them(english, questions, categories):
    pothole = Category.objects.get(organisation=categories["KOR"], code="pothole")
    CategoryAttribute.objects.create(category=pothole, code="width", datatype="number",
                                     order=2, label="Breedte", label_en="Width (m)")  # fmt: skip
    CategoryAttribute.objects.create(category=pothole, code="seen", datatype="datetime",
                                     order=3, label="Gezien", label_en="Seen at")  # fmt: skip
    html = english.get(URL).content.decode()
    assert 'type="datetime-local"' in html and 'inputmode="decimal"' in html
    answers = {BLOCKED: "no", "attribute__pothole__width": "1,5",
               "attribute__pothole__seen": "2026-07-11T08:15"}  # fmt: skip
    assert english.post(URL, form_data(**answers)).status_code == 302
    assert Report.objects.get().attributes == {
        "road-blocked": "no", "width": 1.5, "seen": "2026-07-11T08:15:00+02:00",
    }  # fmt: skip
    wrong = {
        **answers,
        "attribute__pothole__width": "one",
        "attribute__pothole__seen": "1900-01-01T00:00",
    }
    errors = english.post(URL, form_data(**wrong)).context["form"].errors
    assert errors["attribute__pothole__width"] == ["Give a number, such as 12 or 3.5."]
    assert errors["attribute__pothole__seen"] == ["Give a date between 1970 and 9000."]


def test_a_nul_in_an_answer_is_refused_before_anything_is_read(english, questions):
    response = english.post(URL, form_data(**{BLOCKED: "no", LAMP: "12\x00"}))
    assert response.status_code == 400
    assert f"{LAMP} contains a NUL character" in response.content.decode()
    assert not Report.objects.exists()


def test_odd_characters_are_kept_as_typed_and_escaped(english, questions):
    lamp = "<b>12</b> ‮345 🚧"
    response = english.post(URL, form_data(category="street-light", **{LAMP: lamp}))
    assert response.status_code == 302
    assert Report.objects.get().attributes == {"lamp-number": lamp}


def test_the_municipality_decides_which_questions_count(english, questions, categories):
    """The form asks a subject's questions before the place decides the municipality:
    answers to a question the chosen municipality does not ask are left out."""
    CategoryAttribute.objects.filter(category__organisation=categories["MEN"]).delete()
    CategoryAttribute.objects.filter(code="road-blocked").update(required=False)
    menen = form_data(latitude=MENEN_CENTRE[0], longitude=MENEN_CENTRE[1], **{BLOCKED: "yes"})
    assert english.post(URL, menen).status_code == 302
    assert Report.objects.get().attributes == {}


def test_a_question_one_municipality_requires_is_required_on_the_form(
    english, questions, categories
):
    CategoryAttribute.objects.exclude(category__organisation=categories["MEN"]).update(
        required=False
    )
    response = english.post(URL, form_data())
    assert response.context["form"].errors == {BLOCKED: ["Answer this question."]}


def test_a_services_error_about_an_answer_lands_at_its_question(questions):
    form = ReportForm(form_data(**{BLOCKED: "no"}))
    assert form.is_valid(), form.errors
    apply_service_errors(
        form, ValidationError({"attribute[road-blocked]": "Answer this question."})
    )
    assert form.errors == {BLOCKED: ["Answer this question."]}
    apply_service_errors(form, ValidationError({"attribute[gone]": "Not asked."}))
    assert form.non_field_errors() == ["Not asked."]


def test_the_answers_stay_off_the_reporters_follow_up_page(english, questions):
    response = english.post(URL, form_data(category="street-light", **{LAMP: "LAMP-4711"}))
    followup = english.get(response["Location"]).content.decode()
    assert Report.objects.get().reference in followup
    assert "LAMP-4711" not in followup and "Lamp number" not in followup


# --- The agent intake -------------------------------------------------------------------


def test_the_intake_asks_the_same_questions(questions, kortrijk_agent):
    client = browser(kortrijk_agent)
    html = client.get(reverse("meldpunt:intake")).content.decode()
    assert 'data-questions-for="pothole"' in html and "Is the road blocked?" in html
    response = client.post(reverse("meldpunt:intake"), intake_data())
    assert response.status_code == 200
    assert response.context["form"].errors == {BLOCKED: ["Answer this question."]}
    response = client.post(reverse("meldpunt:intake"), intake_data(**{BLOCKED: "yes"}))
    assert response.status_code == 302
    assert Report.objects.get().attributes == {"road-blocked": "yes"}


def test_checking_nearby_keeps_every_answer_ticked(questions, kortrijk_agent, categories):
    pothole = Category.objects.get(organisation=categories["KOR"], code="pothole")
    CategoryAttribute.objects.create(
        category=pothole, code="where", datatype="multivaluelist", order=2, label="Waar",
        values="road | Rijbaan\nside | Berm",
    )  # fmt: skip
    data = intake_data(check="1", **{BLOCKED: "no", "attribute__pothole__where": ["road", "side"]})
    response = browser(kortrijk_agent).post(reverse("meldpunt:intake"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('name="attribute__pothole__where"') == 2
    assert html.count("checked") >= 3  # the two ticked places and the answer "no"
    assert not Report.objects.exists()


# --- What staff see ---------------------------------------------------------------------


def test_staff_see_the_answers_on_the_report_page(questions, kortrijk_agent):
    report = file_report(attributes={"road-blocked": "yes"})
    html = browser(kortrijk_agent).get(page_url(report)).content.decode()
    assert "Answers to the extra questions" in html
    assert "<dt>Is the road blocked?</dt><dd>Yes</dd>" in html


def test_an_answer_to_a_removed_question_is_still_shown(questions, kortrijk_agent):
    report = file_report(code="street-light", attributes={"lamp-number": "12/345"})
    CategoryAttribute.objects.filter(code="lamp-number").delete()
    html = browser(kortrijk_agent).get(page_url(report)).content.decode()
    assert "<dt>lamp-number</dt><dd>12/345</dd>" in html


def test_a_report_without_answers_has_no_answers_section(categories, kortrijk_agent):
    html = browser(kortrijk_agent).get(page_url(file_report())).content.decode()
    assert "Answers to the extra questions" not in html


def test_the_csv_export_has_the_answers_in_one_column(questions, kortrijk_agent):
    file_report(attributes={"road-blocked": "no"}, description="Met antwoord.")
    file_report(code="street-light", description="Zonder antwoord.")
    header, rows = download(browser(kortrijk_agent), "status=all")
    answers = column(header, rows, "Answers to the extra questions")
    assert sorted(answers) == ["", "Is the road blocked?: No"]


# --- The service and the admin ----------------------------------------------------------


def test_the_service_refuses_a_wrong_answer_under_the_attributes_name(questions):
    with pytest.raises(ValidationError) as refused:
        file_report(attributes={"road-blocked": ["yes", "no"]})
    assert refused.value.message_dict == {"attribute[road-blocked]": ["Give one answer."]}
    with pytest.raises(ValidationError) as refused:
        file_report(attributes={"road-blocked": "no\x00"})
    assert refused.value.message_dict == {
        "attribute[road-blocked]": ["Contains a NUL character, which is not allowed."]
    }
    assert not Report.objects.exists()


def test_the_service_turns_pasted_control_characters_into_spaces(questions):
    report = file_report(code="street-light", attributes={"lamp-number": "12\x0b345\x07"})
    assert report.attributes == {"lamp-number": "12 345"}


@pytest.mark.parametrize(
    ("datatype", "values", "error"),
    [
        ("singlevaluelist", "", "Give at least one answer to choose from."),
        ("singlevaluelist", "yes | Ja\nyes | Oui", "Line 2: the key yes is used twice."),
        ("multivaluelist", "ja nee", "Line 1: write key | Dutch | French | English."),
        ("multivaluelist", "a b | A", "Line 1: write key | Dutch | French | English."),
        ("singlevaluelist", "x | X | X | X | X", "Line 1: write key | Dutch | French | English."),
        ("string", "yes | Ja", "Only the list kinds have answers to choose from."),
    ],
)
def test_the_answers_of_a_list_are_checked_in_the_admin(questions, datatype, values, error):
    from django.utils import translation

    attribute = CategoryAttribute(
        category=Category.objects.first(), code="q", datatype=datatype, label="V", values=values
    )
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        attribute.full_clean()
    assert refused.value.message_dict == {"values": [error]}


def test_questions_are_edited_inline_with_their_category(questions, superuser):
    client = staff_client(superuser)
    client.cookies["regiohub_language"] = "en"
    category = Category.objects.get(organisation__code="KOR", code="pothole")
    url = f"/admin/meldpunt/category/{category.pk}/change/"
    html = client.get(url).content.decode()
    assert 'name="attributes-0-code" value="road-blocked"' in html
    assert "yes | Ja | Oui | Yes" in html
