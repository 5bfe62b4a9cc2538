"""regiohub documents batch | poll | stand-ins: the letters' scheduled work, now, and the
demo's stand-ins for the outside services.

``batch`` and ``poll`` run what the worker runs on its schedule (the day's paper batch at
``REGIOHUB_DOCUMENTS_BATCH_HOUR``, the status poll every
``REGIOHUB_DOCUMENTS_STATUS_MINUTES``) at once, for an operator who does not want to wait.
``stand-ins`` runs the demo's eBox, print partner and timestamp authority in the
foreground (``regiohub serve --with-demo-services`` starts it next to the site).
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from regiohub.documents import demo

STAND_INS_HELP = "\n".join(
    [
        "Run the demo's stand-ins for the letters' outside services on 127.0.0.1, until",
        "SIGTERM or SIGINT (Ctrl-C):",
        f"  timestamp authority (RFC 3161)  {demo.url(demo.TSA_PORT, demo.TSA_PATH)}",
        f"  eBox                            {demo.url(demo.EBOX_PORT)}",
        f"  print partner                   {demo.url(demo.PARTNER_PORT)}",
        "They use the keys `regiohub demo` made in REGIOHUB_DATA_DIR/demo/letters; the demo's",
        "Kortrijk sender points at them. The eBox knows:",
        *demo.directory_lines(),
        "The print partner reports every letter it takes as printed, posted and delivered at",
        "once (`regiohub documents poll` records it). Have an eBox letter read with",
        f"`curl -X POST {demo.url(demo.EBOX_PORT)}/_demo/letters/<letter id>/read` (the id",
        "is in the address of the letter's page), then `regiohub documents poll`.",
        "Needs the development extras (pytest): the stand-ins are the tests' fakes.",
    ]
)


class Command(BaseCommand):
    help = (
        "Letters: hand the paper letters to the print partner now (batch), poll the eBox "
        "and the print partner now (poll), or run the demo's stand-ins (stand-ins)."
    )

    def add_arguments(self, parser: Any) -> None:
        verbs = parser.add_subparsers(dest="verb", required=True)
        batch = verbs.add_parser(
            "batch",
            help="Put the waiting paper letters in today's batch and hand every batch not "
            "handed over yet to the print partner; prints the batch ids.",
        )
        batch.add_argument("--organisation", metavar="CODE", help="Only this municipality.")
        poll = verbs.add_parser(
            "poll",
            help="Ask the eBox what was read and the print partner what was delivered; "
            "prints the counts.",
        )
        poll.add_argument("--organisation", metavar="CODE", help="Only this municipality.")
        verbs.add_parser(
            "stand-ins",
            help="Run the demo's eBox, print partner and timestamp authority.",
            description=STAND_INS_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "stand-ins":
            self.stand_ins()
        elif verb == "batch":
            self.batch(options.get("organisation"))
        else:
            self.poll(options.get("organisation"))

    # --- operators ----------------------------------------------------------------------

    def senders(self, code: str | None) -> list[Any]:
        from regiohub.documents.models import Sender

        found = Sender.objects.select_related("organisation").order_by("organisation__code")
        if code:
            found = found.filter(organisation__code=code)
            if not found.exists():
                raise CommandError(f"{code} does not send letters (it has no letter sender).")
        return list(found)

    def batch(self, code: str | None) -> None:
        from regiohub.documents import delivery, paper

        failed = 0
        for sender in self.senders(code):
            org = sender.organisation.code
            try:
                handed = delivery.batch_paper(sender.organisation_id)
            except (paper.PartnerError, paper.PaperProblem) as error:
                failed += 1
                self.stdout.write(f"{org}: not handed over: {error}")
                continue
            for batch_id in handed:
                self.stdout.write(f"{org}: {batch_id} handed over")
            if not handed:
                self.stdout.write(f"{org}: no paper letters waiting")
        self.stdout.write(f"Batch folders: {settings.DOCUMENTS_PAPER_DIR}")
        if failed:
            raise CommandError(f"{failed} municipality(ies) could not hand over; try again.")

    def poll(self, code: str | None) -> None:
        from regiohub.documents import delivery, paper
        from regiohub.documents.channels.ebox import EboxError

        failed = 0
        for sender in self.senders(code):
            org = sender.organisation.code
            try:
                counts = delivery.poll(sender.organisation_id)
            except (EboxError, paper.PartnerError) as error:
                failed += 1
                self.stdout.write(f"{org}: not polled: {error}")
                continue
            self.stdout.write(f"{org}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        if failed:
            raise CommandError(f"{failed} municipality(ies) could not be polled; try again.")

    # --- the demo's stand-ins -------------------------------------------------------------

    def stand_ins(self) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            from regiohub.documents.demo import stand_ins

            with stand_ins.running() as running:
                self.stdout.write(
                    "Letters' stand-ins: timestamp authority "
                    f"{running.tsa_url}, eBox {running.ebox_url}, print partner "
                    f"{running.partner_url}. The eBox knows:"
                )
                for line in demo.directory_lines():
                    self.stdout.write(line)
                self.stdout.flush()
                while not stop.wait(1):
                    pass
        except ImportError as error:
            raise CommandError(
                f"The stand-ins are the tests' fakes and need the development extras "
                f"(pip install -e '.[dev]'): {error}"
            ) from error
        except FileNotFoundError as error:
            raise CommandError(
                f"No demo keys in {demo.folder()} ({error.filename}): run `regiohub demo` first."
            ) from error
        except OSError as error:
            raise CommandError(
                f"A stand-in cannot listen: {error.strerror} (are they running already?)"
            ) from error
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        self.stdout.write("Letters' stand-ins stopped.")
