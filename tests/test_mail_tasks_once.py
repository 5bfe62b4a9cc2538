"""Every task on the mail queue, in every module, sends inside ``once(key)`` with the
Message-ID of that key (``regiohub.core.mail.headers_for``): a mail sent again after a
worker was killed between the send and the commit carries the same Message-ID, so the mail
server or the recipient's client can drop the duplicate (docs/operations.md)."""

from __future__ import annotations

import importlib
import inspect
import sys

from django.apps import apps

from regiohub.core.tasks import declared


def test_every_mail_task_sends_inside_once_with_the_keys_message_id():
    for config in apps.get_app_configs():
        if config.name.startswith("regiohub."):
            for name in ("tasks", "tasks_mail", "tasks_periodic"):
                try:
                    importlib.import_module(f"{config.name}.{name}")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{config.name}.{name}":
                        raise
    mail_tasks = [
        t for t in declared() if t.queue_name == "mail" and ".tests." not in t.module_path
    ]
    assert len(mail_tasks) >= 7
    for task_ in mail_tasks:
        source = inspect.getsource(task_.func)
        module = inspect.getsource(sys.modules[task_.func.__module__])
        assert "once(key)" in source, f"{task_.module_path} does not send inside once(key)"
        assert (
            "headers=headers_for(key)" in source
            or 'headers=headers_for(f"{key}:' in source  # one mail per recipient
            or ("_send(" in source and "headers=headers_for(key)" in module)
        ), f"{task_.module_path} does not set the Message-ID of its key"
