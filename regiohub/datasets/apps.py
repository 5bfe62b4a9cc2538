from django.utils.translation import gettext_lazy as _

from regiohub.core import modules
from regiohub.datasets.permissions import VIEW_DATA


class DatasetsConfig(modules.ModuleConfig):
    name = "regiohub.datasets"
    label = "datasets"
    verbose_name = _("Datasets")

    #: For the public, the open data portal is the way in (decision 0027); the data
    #: platform's list is the workspace of the people who load and query data.
    menu = (modules.MenuEntry(_("Data"), "datasets:list", capability=VIEW_DATA, order=20),)
    #: A data steward's upload of a dataset file (the view checks who sends first).
    upload_paths = (modules.UploadPath(r"^/staff/data/[a-z0-9-]+/upload/$", "DATASETS_UPLOAD_MB"),)
    privacy = "regiohub.datasets.privacy.PrivacyHandler"

    def connect(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from regiohub.datasets.models import Dataset, DatasetVersion
        from regiohub.datasets.queries import forget_open_datasets
        from regiohub.datasets.schedule import register_jobs

        register_jobs()
        # The query API keeps open datasets in memory (queries.open_dataset): a change
        # made in this process is seen at once.
        for model in (Dataset, DatasetVersion):
            post_save.connect(forget_open_datasets, sender=model, dispatch_uid="open-datasets")
            post_delete.connect(forget_open_datasets, sender=model, dispatch_uid="open-datasets")
