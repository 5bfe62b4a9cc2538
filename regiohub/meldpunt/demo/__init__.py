"""Demo data of the contact point: the same subjects in every municipality, each routed to
that municipality's own department, and its closing days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from regiohub.core.models import Department, Organisation
from regiohub.core.models.organisation import OrganisationKind
from regiohub.meldpunt.models import Category, ClosingDay

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
                },
            )
            count += 1
        for day, description in CLOSING_DAYS:
            ClosingDay.objects.get_or_create(
                organisation=municipality, date=day, defaults={"description": description}
            )
    return count


def load(out: Any) -> None:
    from regiohub.meldpunt.demo.reports import DAYS, fill_districts, load_reports

    count = load_categories()
    out.write(f"Contact point: {count} categories in the municipalities.\n")
    located = fill_districts()
    if located:
        out.write(f"Contact point: {located} earlier reports placed in their district.\n")
    with transaction.atomic():
        reports = load_reports()
    if reports:
        out.write(f"Contact point: {reports} reports over the last {DAYS} days, in every state.\n")
