"""Demo data of the contact point: the same subjects in every municipality, each routed to
that municipality's own department, and its closing days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from regiohub.core.models import Department, Organisation
from regiohub.core.models.organisation import OrganisationKind
from regiohub.meldpunt.models import Category, CategoryAttribute, ClosingDay

# code, nl, fr, en, help (nl), department, response days, resolution days, anonymous allowed
CATEGORIES = [
    ("pothole", "Put of schade in de weg", "Nid-de-poule ou route abîmée",
     "Pothole or damaged road", "Een gat, verzakking of losse stenen in de weg of het fietspad.",
     "Openbare werken", "1", "10", True),
    ("street-light", "Straatlamp defect", "Éclairage public en panne", "Street light out",
     "Een straatlamp die niet brandt, flikkert of overdag brandt.",
     "Openbare werken", "2", "15", True),
    ("illegal-dumping", "Sluikstort", "Dépôt clandestin", "Illegal dumping",
     "Afval dat ergens achtergelaten is waar het niet hoort.", "Milieu", "1", "5", True),
    ("noise", "Geluidsoverlast", "Nuisances sonores", "Noise nuisance",
     "Lawaai van een evenement, bouwwerf of zaak.", "Milieu", "1", "10", False),
    ("waste-collection", "Vraag over afvalophaling", "Question sur la collecte des déchets",
     "Question about waste collection",
     "Uw afval is niet opgehaald, of u hebt een vraag over de ophaling.",
     "Milieu", "2", "5", False),
    ("traffic-sign", "Verkeersbord beschadigd", "Panneau de signalisation abîmé",
     "Damaged traffic sign", "Een verkeersbord dat scheef staat, ontbreekt of onleesbaar is.",
     "Mobiliteit", "2", "10", True),
    ("question", "Andere vraag", "Autre question", "Other question",
     "Een vraag aan de gemeente die niet in een andere categorie past.",
     "Burgerzaken", "2", "10", False),
]  # fmt: skip

# help texts in French and English, per code
HELP = {
    "pothole": ("Un trou, un affaissement ou des pavés déchaussés dans la route ou la piste "
                "cyclable.", "A hole, subsidence or loose stones in the road or cycle path."),
    "street-light": ("Un lampadaire qui ne s'allume pas, clignote ou reste allumé le jour.",
                     "A street light that is out, flickers or stays on during the day."),
    "illegal-dumping": ("Des déchets abandonnés là où ils n'ont pas leur place.",
                        "Waste left somewhere it does not belong."),
    "noise": ("Du bruit venant d'un événement, d'un chantier ou d'un commerce.",
              "Noise from an event, a building site or a business."),
    "waste-collection": ("Vos déchets n'ont pas été collectés, ou vous avez une question sur "
                         "la collecte.", "Your waste was not collected, or you have a question "
                         "about the collection."),
    "traffic-sign": ("Un panneau penché, manquant ou illisible.",
                     "A traffic sign that is crooked, missing or unreadable."),
    "question": ("Une question à la commune qui n'entre dans aucune autre catégorie.",
                 "A question for the municipality that fits no other category."),
}  # fmt: skip

# The public map of open reports leaves these subjects out (a question is not a place, an
# unemptied bin is a front door) and shows these only roughly, within a square of so many
# metres (a noise complaint points at a neighbour); migration 0014 does the same for sites
# that started from this set.
NOT_ON_MAP = ("question", "waste-collection")
MAP_BLUR_M = {"noise": 100}

# Extra questions per subject (service attributes, ADR 0040): code, datatype, required,
# question nl/fr/en, help nl/fr/en, answers ("key | nl | fr | en" per line).
ATTRIBUTES = {
    "street-light": [
        ("lamp-number", "string", False,
         "Lampnummer (op de paal)", "Numéro du lampadaire (sur le poteau)",
         "Lamp number (on the pole)",
         "Het nummer op het plaatje aan de paal, bijvoorbeeld 12/345.",
         "Le numéro sur la plaquette du poteau, par exemple 12/345.",
         "The number on the plate on the pole, for example 12/345.", ""),
    ],
    "pothole": [
        ("road-blocked", "singlevaluelist", True,
         "Is de weg versperd?", "La route est-elle bloquée ?", "Is the road blocked?",
         "Kan het verkeer er nog langs?", "La circulation peut-elle encore passer ?",
         "Can traffic still get past?",
         "yes | Ja | Oui | Yes\nno | Nee | Non | No"),
    ],
}  # fmt: skip

CLOSING_DAYS = [(date(2026, 12, 26), "Tweede Kerstdag"), (date(2027, 1, 2), "Dag na Nieuwjaar")]


@transaction.atomic
def load_categories() -> int:
    count = 0
    for municipality in Organisation.objects.filter(kind=OrganisationKind.MUNICIPALITY):
        departments = {d.name: d for d in Department.objects.filter(organisation=municipality)}
        for code, nl, fr, en, help_nl, dept, response, resolution, anonymous in CATEGORIES:
            Category.objects.update_or_create(
                organisation=municipality,
                code=code,
                defaults={
                    "name": nl,
                    "name_fr": fr,
                    "name_en": en,
                    "help_text": help_nl,
                    "help_text_fr": HELP[code][0],
                    "help_text_en": HELP[code][1],
                    "department": departments[dept],
                    "response_days": Decimal(response),
                    "resolution_days": Decimal(resolution),
                    "allow_anonymous": anonymous,
                    "is_public_on_map": code not in NOT_ON_MAP,
                    "map_generalise_m": MAP_BLUR_M.get(code, 0),
                },
            )
            count += 1
        for day, description in CLOSING_DAYS:
            ClosingDay.objects.get_or_create(
                organisation=municipality,
                date=day,
                defaults={"description": description, "repeats_yearly": True},
            )
    return count


@transaction.atomic
def load_attributes() -> int:
    """The demo's extra questions, for every municipality's category of their subject."""
    count = 0
    for category in Category.objects.filter(code__in=ATTRIBUTES):
        for order, row in enumerate(ATTRIBUTES[category.code], start=1):
            code, datatype, required, nl, fr, en, help_nl, help_fr, help_en, values = row
            CategoryAttribute.objects.update_or_create(
                category=category,
                code=code,
                defaults={
                    "order": order, "datatype": datatype, "required": required,
                    "label": nl, "label_fr": fr, "label_en": en,
                    "help_text": help_nl, "help_text_fr": help_fr, "help_text_en": help_en,
                    "values": values,
                },
            )  # fmt: skip
            count += 1
    return count


def demo_answers(code: str, number: int) -> dict[str, Any]:
    """Answers the ``number``-th demo report of subject ``code`` gives to the extra
    questions (by number, so that the demo's random sequence stays as it was)."""
    if code == "pothole":
        return {"road-blocked": "yes" if number % 10 == 0 else "no"}
    if code == "street-light" and number % 2:
        return {"lamp-number": f"{number % 97 + 1}/{100 + number % 900}"}
    return {}


def load(out: Any) -> None:
    from regiohub.meldpunt.demo.reports import (
        DAYS,
        fill_districts,
        load_reference_data,
        load_reports,
    )
    from regiohub.meldpunt.demo.routing import load_routing

    count = load_categories()
    out.write(f"Contact point: {count} categories in the municipalities.\n")
    questions = load_attributes()
    out.write(f"Contact point: {questions} extra questions of categories.\n")
    load_reference_data()
    routed = load_routing()
    out.write(
        f"Contact point: {routed['layers']} demo asset layers (approximate), "
        f"{routed['rules']} routing rules.\n"
    )
    located = fill_districts()
    if located:
        out.write(f"Contact point: {located} earlier reports placed in their district.\n")
    with transaction.atomic():
        reports = load_reports()
    if reports:
        out.write(f"Contact point: {reports} reports over the last {DAYS} days, in every state.\n")
        # The statistics page at once, not at the worker's first count (ADR 0039).
        from regiohub.meldpunt import statistics
        from regiohub.meldpunt.models import Report

        statistics.refresh_months(Report.objects.dates("created_at", "month"))
