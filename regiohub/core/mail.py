"""Outgoing mail: a stable Message-ID per idempotency key.

Every mail task sends inside :func:`regiohub.core.tasks.once`, so a retried or requeued task
does not send again once its key is committed. One window stays open: a worker killed after
the mail server accepted the mail but before the key committed. The task then runs again
and sends the mail a second time. Both copies carry the same ``Message-ID`` (derived from
the key, see :func:`message_id`), so a mail server or mail client that drops duplicates by
Message-ID shows it once, and anyone can tell the two copies are the same message.

    with once(key) as first:
        if first:
            EmailMessage(subject, body, to=[address], headers=headers_for(key)).send()
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from django.conf import settings


def message_id(key: str) -> str:
    """``<hash of key@host of REGIOHUB_SITE_URL>``: the same for every try of one key."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    domain = urlsplit(settings.SITE_URL).hostname or "regiohub.invalid"
    return f"<{digest}@{domain}>"


def headers_for(key: str) -> dict[str, str]:
    """The headers for a mail sent under idempotency key ``key`` (for ``EmailMessage``)."""
    return {"Message-ID": message_id(key)}
