from django.utils.translation import gettext_lazy as _

from regiohub.core import modules
from regiohub.documents.permissions import VIEW_LETTERS


class DocumentsConfig(modules.ModuleConfig):
    name = "regiohub.documents"
    label = "documents"
    verbose_name = _("Letters")

    menu = (modules.MenuEntry(_("Letters"), "documents:list", capability=VIEW_LETTERS, order=30),)
    upload_paths = (
        modules.UploadPath(r"^/api/v1/letters/$", "DOCUMENTS_MAX_UPLOAD_MB"),
        modules.UploadPath(r"^/staff/letters/new/$", "DOCUMENTS_MAX_UPLOAD_MB"),
    )
    demo_services = (("documents", "stand-ins"),)

    def connect(self) -> None:
        from django.conf import settings

        from regiohub.core import schedule
        from regiohub.documents import tasks

        schedule.every_day(
            "documents.paper-batches", tasks.batch_paper, hour="DOCUMENTS_BATCH_HOUR"
        )
        schedule.every_minutes(
            "documents.status", tasks.poll_status, minutes=settings.DOCUMENTS_STATUS_MINUTES
        )
