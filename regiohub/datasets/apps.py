from django.utils.translation import gettext_lazy as _

from regiohub.core import modules


class DatasetsConfig(modules.ModuleConfig):
    name = "regiohub.datasets"
    label = "datasets"
    verbose_name = _("Datasets")

    menu = (modules.MenuEntry(_("Data"), "datasets:list", area="public", order=20),)
    #: A data steward's upload of a dataset file (the view checks who sends first).
    upload_paths = (modules.UploadPath(r"^/staff/data/[a-z0-9-]+/upload/$", "DATASETS_UPLOAD_MB"),)
    privacy = "regiohub.datasets.privacy.PrivacyHandler"

    def connect(self) -> None:
        from regiohub.datasets.schedule import register_jobs

        register_jobs()
