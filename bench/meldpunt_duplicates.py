"""How good are the duplicate suggestions? Precision and recall on a generated, labelled set.

The set mimics what a contact point receives: problems reported once or several times
(the copies a few metres and hours apart, worded differently, now and then under a related
subject), next to hard non-duplicates: another problem of the same kind around the corner,
something else at the same spot, the same spot two months later. Every pair within 500 m
is judged by ``meldpunt.duplicates.is_duplicate`` and compared with the truth.

A second part asks the same of reports filed by address alone (phone, mail, no JavaScript):
the same set, each report with a typed address instead of a point (copies of a problem
write its address differently; the problem around the corner has another house number).
Side by side: the old rule, which measured distance from the municipality's centre where
such reports were pinned ("0 m apart"), and today's, which compares the typed addresses or
says "place unknown" (decision 0023).

    .venv/bin/python bench/meldpunt_duplicates.py        (BENCH_SMOKE=1 for a tiny run)
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SMOKE, setup_django

PROBLEMS = 60 if SMOKE else 1500
CENTRE = (50.8275, 3.2649)

# Per subject: kinds of problem, each with differently worded reports of it. {n} is a
# house number or landmark that tells problems apart.
WORDING = {
    "pothole": [
        ["Diepe put in het fietspad voor nummer {n}", "Gat in fietspad ter hoogte van nr {n}",
         "Put in de fietsweg aan huisnummer {n}, gevaarlijk voor fietsers"],
        ["Verzakking in de rijweg aan de bushalte {n}", "Weg verzakt bij bushalte {n}",
         "Rijweg zakt weg naast halte {n}"],
    ],
    "street-light": [
        ["Straatlamp aan nummer {n} brandt niet", "Lamp voor huis {n} is kapot",
         "Straatverlichting defect ter hoogte van {n}"],
        ["Lantaarnpaal {n} flikkert de hele nacht", "Paal {n} knippert voortdurend",
         "Flikkerende straatlamp, paal nummer {n}"],
    ],
    "illegal-dumping": [
        ["Zakken afval achtergelaten aan de glasbol {n}", "Sluikstort bij glascontainer {n}",
         "Vuilniszakken gedumpt naast glasbol {n}"],
        ["Oude matras langs de weg aan nummer {n}", "Matras en meubels gedumpt bij {n}",
         "Iemand heeft een matras achtergelaten voor {n}"],
    ],
    "traffic-sign": [
        ["Verkeersbord omver gereden aan kruispunt {n}", "Bord ligt plat op kruispunt {n}",
         "Omgereden verkeersbord kruispunt {n}"],
    ],
}  # fmt: skip
RELATED = {"pothole": "traffic-sign", "illegal-dumping": "waste-collection"}


@dataclass
class Item:
    problem: int
    code: str
    latitude: float
    longitude: float
    created_at: datetime
    description: str
    address: str = ""
    approximate: bool = False


STREETS = [
    "Kerkstraat", "Stationsstraat", "Doorniksestraat", "Grote Markt", "Leiekaai",
    "Veldstraat", "Meensesteenweg", "Gentsesteenweg", "Brugsesteenweg", "Kapelstraat",
    "Molenstraat", "Schoolstraat", "Nieuwstraat", "Dorpsstraat", "Kortrijksestraat",
    "Zuidstraat", "Noordstraat", "Oudenaardsesteenweg", "Sint-Amandsplein", "Beekstraat",
]  # fmt: skip
# How people write the same address: "Kerkstraat 12", "kerkstraat 12, Kortrijk", ...
ADDRESS_FORMS = ["{s} {n}", "{s} {n}, Kortrijk", "{l} {n}", "{s} nr {n}", "{s} {n} bus 1"]


def typed_address(street: str, n: int, rng: random.Random) -> str:
    return rng.choice(ADDRESS_FORMS).format(s=street, l=street.lower(), n=n)


def _offset(lat: float, lon: float, metres: float, rng: random.Random) -> tuple[float, float]:
    angle = rng.uniform(0, 2 * math.pi)
    dlat = metres * math.cos(angle) / 111_320
    dlon = metres * math.sin(angle) / (111_320 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def generate(rng: random.Random) -> list[Item]:
    items: list[Item] = []
    start = datetime(2026, 9, 1, 8, 0)
    for problem in range(PROBLEMS):
        code = rng.choice(list(WORDING))
        kind = rng.randrange(len(WORDING[code]))
        n = rng.randint(1, 400)
        street = rng.choice(STREETS)
        lat, lon = _offset(*CENTRE, rng.uniform(0, 6000), rng)
        when = start + timedelta(hours=rng.uniform(0, 24 * 60))
        copies = rng.choices([1, 2, 3, 4], [50, 30, 15, 5])[0]
        variants = WORDING[code][kind]
        for copy in range(copies):
            c_lat, c_lon = _offset(lat, lon, abs(rng.gauss(0, 25)), rng) if copy else (lat, lon)
            c_code = RELATED.get(code, code) if copy and rng.random() < 0.1 else code
            items.append(
                Item(problem, c_code, c_lat, c_lon,
                     when + timedelta(hours=rng.uniform(0, 72) if copy else 0),
                     rng.choice(variants).format(n=n), typed_address(street, n, rng))
            )  # fmt: skip
        # Hard non-duplicates next to it.
        if rng.random() < 0.5:  # same kind of problem around the corner, another number
            o_lat, o_lon = _offset(lat, lon, rng.uniform(60, 140), rng)
            items.append(
                Item(PROBLEMS + problem, code, o_lat, o_lon,
                     when + timedelta(hours=rng.uniform(0, 96)),
                     rng.choice(WORDING[code][(kind + 1) % len(WORDING[code])]).format(n=n + 7),
                     typed_address(street, n + 7, rng))
            )  # fmt: skip
        if rng.random() < 0.3:  # something else at the same spot
            other = rng.choice([c for c in WORDING if c not in (code, RELATED.get(code))])
            items.append(
                Item(2 * PROBLEMS + problem, other, *_offset(lat, lon, rng.uniform(0, 20), rng),
                     when + timedelta(hours=rng.uniform(0, 48)),
                     rng.choice(WORDING[other][0]).format(n=n), typed_address(street, n, rng))
            )  # fmt: skip
        if rng.random() < 0.2:  # the same spot, two months later: a new problem
            items.append(
                Item(3 * PROBLEMS + problem, code, *_offset(lat, lon, rng.uniform(0, 20), rng),
                     when + timedelta(days=rng.uniform(45, 90)), rng.choice(variants).format(n=n),
                     typed_address(street, n, rng))
            )  # fmt: skip
    return items


def main() -> None:
    setup_django()
    from regiohub.core import geo
    from regiohub.meldpunt import duplicates

    rng = random.Random(7)
    items = generate(rng)
    # Pairs within 500 m (a grid keeps this linear).
    cell = 0.005
    grid: dict[tuple[int, int], list[int]] = {}
    for index, item in enumerate(items):
        grid.setdefault((int(item.latitude / cell), int(item.longitude / cell)), []).append(index)
    pairs = []
    for (gx, gy), members in grid.items():
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in grid.get((gx + dx, gy + dy), []):
                    for i in members:
                        if i < j:
                            a, b = items[i], items[j]
                            if (
                                geo.distance_m(a.latitude, a.longitude, b.latitude, b.longitude)
                                <= 500
                            ):
                                pairs.append((a, b))
    truth = [a.problem == b.problem for a, b in pairs]
    print(f"labelled set: {len(items)} reports of {PROBLEMS} problems, {len(pairs)} pairs within "
          f"500 m, {sum(truth)} of them duplicates")  # fmt: skip

    default = duplicates.THRESHOLD
    for threshold in (0.5, 0.55, 0.6, default, 0.7, 0.75):
        duplicates.THRESHOLD = threshold
        started = time.perf_counter()
        predicted = [duplicates.is_duplicate(a, b) for a, b in pairs]
        elapsed = time.perf_counter() - started
        duplicates.THRESHOLD = default
        tp = sum(p and t for p, t in zip(predicted, truth, strict=True))
        fp = sum(p and not t for p, t in zip(predicted, truth, strict=True))
        fn = sum(t and not p for p, t in zip(predicted, truth, strict=True))
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        mark = "  <- THRESHOLD" if threshold == default else ""
        print(
            f"threshold {threshold:.2f}: precision {precision:.3f}, recall {recall:.3f}, "
            f"F1 {f1:.3f} (tp {tp}, fp {fp}, fn {fn}; {len(pairs) / elapsed:,.0f} pairs/s){mark}"
        )

    address_only(pairs, truth)


def _rates(predicted: list[bool], truth: list[bool]) -> str:
    tp = sum(p and t for p, t in zip(predicted, truth, strict=True))
    fp = sum(p and not t for p, t in zip(predicted, truth, strict=True))
    fn = sum(t and not p for p, t in zip(predicted, truth, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return f"precision {precision:.3f}, recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn})"


def address_only(pairs: list[tuple[Item, Item]], truth: list[bool]) -> None:
    """The same pairs, filed by address alone: pinned on the centre, the address typed."""
    from dataclasses import replace

    from regiohub.meldpunt import duplicates

    def typed(item: Item) -> Item:
        return replace(item, latitude=CENTRE[0], longitude=CENTRE[1], approximate=True)

    def without_address(item: Item) -> Item:
        return replace(typed(item), address="")

    print("address-only reports (every report pinned on the municipality's centre):")

    def pinned(item: Item) -> Item:  # what the old rule saw: a point, 0 m from the others
        return replace(typed(item), approximate=False)

    old = [duplicates.is_duplicate(pinned(a), pinned(b)) for a, b in pairs]
    print(f"  old rule, distance from the centre (0 m): {_rates(old, truth)}")
    started = time.perf_counter()
    new = [duplicates.is_duplicate(typed(a), typed(b)) for a, b in pairs]
    elapsed = time.perf_counter() - started
    print(f"  today, typed addresses compared:          {_rates(new, truth)}; "
          f"{len(pairs) / elapsed:,.0f} pairs/s")  # fmt: skip
    unknown = [duplicates.is_duplicate(without_address(a), without_address(b)) for a, b in pairs]
    print(f"  today, no address at all (place unknown): {_rates(unknown, truth)}")
    mixed = [duplicates.is_duplicate(a, without_address(b)) for a, b in pairs]
    print(f"  one marked on the map, one without place: {_rates(mixed, truth)}")


if __name__ == "__main__":
    main()
