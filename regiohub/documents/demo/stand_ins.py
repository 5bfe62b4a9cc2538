"""The letters' outside services stood in for on this machine, for the demo: a timestamp
authority (RFC 3161), the eBox (publication, consent, preferences, read status) and a print
partner (batches and their events), each speaking the real wire format.

They are the documents tests' fakes (``documents/tests/fake_ebox.py``,
``fake_print_partner.py``, ``pki.py``), served on fixed ports instead of free ones, with
the demo's keys (:mod:`regiohub.documents.demo`) and a directory of demo recipients. The
stand-in print partner reports every letter of a batch it takes as printed, posted and
delivered at once, so a status poll shows the whole way; the stand-in eBox takes
``POST /_demo/letters/<letter's public id>/read`` to have a letter read.

The fakes build on ``regiohub.core.testing``, which imports pytest: the stand-ins need the
development extras (``pip install -e '.[dev]'``, which ``make run`` installs). Their own
servers are made here (``core.testing.local_server`` only takes a free port).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from regiohub.documents import demo

_READ = re.compile(r"/_demo/letters/([0-9a-f-]{36})/read")
#: Requests kept per stand-in for inspection (the fakes keep all of them; a demo runs long).
KEEP_REQUESTS = 50


@dataclass
class StandIns:
    """The running stand-ins: the fakes' state and the addresses they answer on."""

    tsa: Any  # documents.tests.pki.TimestampAuthority
    ebox: Any  # documents.tests.fake_ebox.FakeEbox
    partner: Any  # documents.tests.fake_print_partner.FakePrintPartner
    tsa_url: str
    ebox_url: str
    partner_url: str


def serve(handler: type[BaseHTTPRequestHandler], host: str, port: int) -> ThreadingHTTPServer:
    """Serve ``handler`` on ``host:port`` (``0``: a free port) from a daemon thread."""
    server = ThreadingHTTPServer((host, port), handler)
    # Clients keep connections alive (the sealer's timestamp session): never wait for them.
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, args=(0.2,), name=f"stand-in-{port}", daemon=True
    ).start()
    return server


def _stop(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


@contextmanager
def running(
    where: Path | None = None,
    *,
    host: str = demo.HOST,
    tsa_port: int = demo.TSA_PORT,
    ebox_port: int = demo.EBOX_PORT,
    partner_port: int = demo.PARTNER_PORT,
) -> Iterator[StandIns]:
    """Run the three stand-ins for the block, with the keys ``regiohub demo`` saved in
    ``where`` (default :func:`regiohub.documents.demo.folder`). ``FileNotFoundError``
    before the demo made them, ``OSError`` when a port is taken, ``ImportError`` without
    the development extras."""
    where = where or demo.folder()
    pki = demo.load_pki(where)
    public_key = demo.load_ebox_public_key(where)
    with ExitStack() as stack:
        tsa, tsa_server = _timestamp_authority(pki, host, tsa_port)
        stack.callback(_stop, tsa_server)
        ebox, ebox_server = _ebox(public_key, host, ebox_port)
        stack.callback(_stop, ebox_server)
        partner, partner_server = _print_partner(host, partner_port)
        stack.callback(_stop, partner_server)
        yield StandIns(tsa, ebox, partner, tsa.url, ebox.url, partner.url)


def _timestamp_authority(pki: Any, host: str, port: int) -> tuple[Any, ThreadingHTTPServer]:
    from regiohub.documents.tests.pki import TimestampAuthority

    # The fake starts on a free port at once; its handler is served again on ours.
    authority = TimestampAuthority(pki)
    handler = authority.server.RequestHandlerClass
    authority.stop()
    authority.server = serve(handler, host, port)
    authority.url = f"http://{host}:{authority.server.server_port}{demo.TSA_PATH}"
    return authority, authority.server


def _ebox(public_key: Any, host: str, port: int) -> tuple[Any, ThreadingHTTPServer]:
    from regiohub.documents.delivery import idempotency_key
    from regiohub.documents.tests import fake_ebox

    ebox = fake_ebox.FakeEbox(
        public_key=public_key,
        client_id=demo.EBOX_CLIENT_ID,
        sender_enterprise_number=demo.ENTERPRISE_NUMBER,
        sender_application_id=demo.EBOX_APPLICATION_ID,
        message_type_ids=(demo.EBOX_MESSAGE_TYPE,),
    )
    for recipient in demo.DIRECTORY:
        if recipient.kind == "citizen":
            ebox.add_citizen(
                recipient.number, consent=recipient.consent, connected=recipient.connected
            )
        else:
            ebox.add_enterprise(recipient.number, exclusively=recipient.consent)

    class EboxStandIn(fake_ebox._Handler):
        """What ``FakeEbox.__enter__`` serves, plus ``POST /_demo/letters/<public id>/read``:
        the recipient reads a letter found by the idempotency key it was published with
        (the letter's page shows its public id; the eBox message id is not shown)."""

        fake = ebox
        received = deque(maxlen=KEEP_REQUESTS)  # type: ignore[assignment]

        def do_POST(self) -> None:
            found = _READ.fullmatch(self.path)
            if found is None:
                return super().do_POST()
            self.read_request()
            key = idempotency_key(SimpleNamespace(public_id=found.group(1)))  # type: ignore[arg-type]
            message = next((m for m in list(ebox.messages.values()) if m.key == key), None)
            if message is None:
                return self.send_json(404, {"code": "NOT_FOUND", "message": "No such letter."})
            ebox.mark_read(message.message_id)
            self.send_json(200, {"messageId": message.message_id, "readStatus": True})

    server = serve(EboxStandIn, host, port)
    # The token's audience is checked against this address: the one the sender asks.
    ebox.url = f"http://{host}:{server.server_port}"
    return ebox, server


def _print_partner(host: str, port: int) -> tuple[Any, ThreadingHTTPServer]:
    from regiohub.core.testing import FakeHandler
    from regiohub.documents.paper import PaperStatus
    from regiohub.documents.tests.fake_print_partner import FakePrintPartner

    state = FakePrintPartner(url="", received=deque(maxlen=KEEP_REQUESTS))  # type: ignore[arg-type]

    class PartnerStandIn(FakeHandler):
        """``fake_print_partner``'s handler without its faults; a batch taken is delivered."""

        received = state.received

        def do_POST(self) -> None:
            request = self.read_request()
            if urlsplit(self.path).path != "/batches":
                return self.send_json(404, {"code": "NOT_FOUND", "message": "No such resource."})
            status, body = state.receive(request)
            if status == 201:
                batch_id = body["batchId"]
                for letter in state.batches[batch_id]["letters"]:
                    for step in (PaperStatus.PRINTED, PaperStatus.POSTED, PaperStatus.DELIVERED):
                        state.add_event(batch_id, letter["letterId"], step)
            self.send_json(status, body)

        def do_GET(self) -> None:
            self.read_request()
            if self.path == "/_fake/stats":
                return self.send_json(200, state.stats())
            self.send_json(*state.answer_events(self.path))

    server = serve(PartnerStandIn, host, port)
    state.url = f"http://{host}:{server.server_port}"
    return state, server
