"""Settings for the test suite: the real settings, with a private data directory.

Everything else (database from DATABASE_URL, task backend, middleware) is what runs in
production, so the suite tests the real configuration.
"""

import os
import tempfile

os.environ.setdefault("REGIOHUB_DATA_DIR", tempfile.mkdtemp(prefix="regiohub-test-"))
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")

from regiohub.settings import *  # noqa: F403

# Hashing a password at full strength takes ~0.3 s; tests create many accounts.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# No collectstatic before tests: serve the source files unhashed.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns when absent

# Suites post the public forms many times from one address; the limits have their own test.
MELDPUNT_FORM_RATE = "100000/hour"
MELDPUNT_FOLLOWUP_RATE = "100000/hour"
MELDPUNT_OPEN311_RATE = "100000/hour"
MELDPUNT_NEARBY_RATE = "100000/hour"
MELDPUNT_CALLBACK_RATE = "100000/hour"
MELDPUNT_OPEN311_READ_RATE = "100000/hour"
MELDPUNT_ROUTING_CHECK_SECONDS = 0  # tests change rules with update(): check every call
DATASETS_DOWNLOAD_RATE = "100000/hour"

# Usage counts are written when a test asks (core.usage.flush), not by a thread.
USAGE_FLUSH_SECONDS = 0

# A fixed key, so parallel test processes never generate one each.
SECRETS_KEY = "dGVzdC1vbmx5LXNlY3JldHMta2V5LTAxMjM0NTY3ODk="
