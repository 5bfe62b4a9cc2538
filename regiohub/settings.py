"""Django settings for regiohub. Every value comes through :func:`regiohub.conf.config`.

Defaults are the embedded, single-machine setup (SQLite, database task queue, local files);
``docs/configuration.md`` lists every variable.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from regiohub.conf import ConfigurationError, config, data_dir, module_settings
from regiohub.core.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent

DATA_DIR = data_dir()
DEBUG = config("DEBUG", False, help_text="Django debug mode. Never in production.")


def _secret_key() -> str:
    """The configured key, else one generated once and kept in the data directory."""
    key = config(
        "SECRET_KEY",
        "",
        help_text="Django secret key. When empty, one is generated once and stored in "
        "REGIOHUB_DATA_DIR/secret_key (fine for one machine; set it for several replicas).",
    )
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
SECRETS_KEY = config(
    "REGIOHUB_SECRETS_KEY",
    "",
    help_text="Key (Fernet) that seals integration secrets stored in the database; when "
    "empty, one is generated once in REGIOHUB_DATA_DIR/secrets_key.",
)
ALLOWED_HOSTS = config(
    "ALLOWED_HOSTS",
    ["127.0.0.1", "localhost", "[::1]"],
    help_text="Comma-separated host names this site answers to.",
)
CSRF_TRUSTED_ORIGINS = config(
    "CSRF_TRUSTED_ORIGINS",
    [],
    help_text="Comma-separated origins (https://regiohub.example.be) trusted for "
    "unsafe requests when served behind a proxy on another host name.",
)
SITE_URL = config(
    "REGIOHUB_SITE_URL",
    "http://127.0.0.1:8000",
    help_text="Public base URL of the site, used in mails and links sent to citizens.",
)
HTTPS = config(
    "REGIOHUB_HTTPS",
    False,
    help_text="Set when the site is served over HTTPS: secure cookies, HSTS and "
    "redirects to https.",
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_tasks",
    "django_tasks_db",
    "regiohub.core",
]

MIDDLEWARE = [
    "regiohub.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "regiohub.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "regiohub.core.middleware.RequestSizeLimitMiddleware",
    "regiohub.core.middleware.BadInputMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "regiohub.urls"
WSGI_APPLICATION = "regiohub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "regiohub.core.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = config(
    "DATABASE_URL",
    f"sqlite:///{DATA_DIR / 'regiohub.sqlite3'}",
    help_text="Database to use. SQLite by default; postgres://user:pass@host:5432/name "
    "selects PostgreSQL (see docs/postgresql.md).",
)
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError as exc:
    raise ConfigurationError(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock
        # at BEGIN so two writers queue instead of failing halfway through.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "regiohub_cache",
    }
}
API_RATE_STORE = config(
    "REGIOHUB_API_RATE_STORE",
    "memory",
    help_text="Where the API's request counters (REGIOHUB_API_ANON_RATE, REGIOHUB_API_USER_RATE) "
    "live: memory (each server process counts on its own, no database work), database (one "
    "count shared by every process, a database write per API request) or a redis:// URL.",
)
if API_RATE_STORE == "memory":
    CACHES["throttle"] = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "regiohub-api-rates",
        "OPTIONS": {"MAX_ENTRIES": 10_000},  # client addresses; least recently seen out first
    }
elif API_RATE_STORE == "database":
    CACHES["throttle"] = {**CACHES["default"], "KEY_PREFIX": "rates"}
elif API_RATE_STORE.startswith(("redis://", "rediss://", "unix://")):
    CACHES["throttle"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": API_RATE_STORE,
        "KEY_PREFIX": "regiohub-rates",
    }
else:
    raise ConfigurationError("REGIOHUB_API_RATE_STORE must be memory, database or a redis:// URL")

# --- Background tasks -----------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": config(
            "REGIOHUB_TASK_BACKEND",
            "django_tasks_db.DatabaseBackend",
            help_text="Django Tasks backend. The database backend stores tasks in the same "
            "transaction as the change that causes them (see docs/decisions/0004).",
        ),
        "QUEUES": ["default", "mail", "connectors", "data", "documents"],
    }
}
TASK_MAX_ATTEMPTS = config(
    "REGIOHUB_TASK_MAX_ATTEMPTS",
    6,
    help_text="How often a failing background task is tried before it is given up "
    "(and listed as failed for the administrator).",
)
TASK_RETRY_BASE_SECONDS = config(
    "REGIOHUB_TASK_RETRY_BASE_SECONDS",
    30,
    help_text="First retry delay of a failing task; each next retry waits twice as long.",
)

TASK_RESULT_DAYS = config(
    "REGIOHUB_TASK_RESULT_DAYS",
    30,
    help_text="Days finished background-task rows are kept before the daily prune.",
)
TASK_STUCK_MINUTES = config(
    "REGIOHUB_TASK_STUCK_MINUTES",
    60,
    help_text="A task still running after this many minutes is taken to be orphaned by a "
    "worker that died; workers put it back in the queue when they start.",
)
TASK_LEASE_SECONDS = config(
    "REGIOHUB_TASK_LEASE_SECONDS",
    60,
    help_text="A worker renews its heartbeat every few seconds; a running task whose worker "
    "has not done so for this long is put back in the queue by any live worker.",
)
HEALTH_ORPHANED_SECONDS = config(
    "REGIOHUB_HEALTH_ORPHANED_SECONDS",
    120,
    help_text="/health/ turns to error when a task has been orphaned (its worker's lease "
    "expired) for longer than this without a live worker requeuing it; 0 turns it off.",
)
HEALTH_UNSERVED_MINUTES = config(
    "REGIOHUB_HEALTH_UNSERVED_MINUTES",
    10,
    help_text="/health/ turns to error when a queue has had a task ready for longer than "
    "this while no live worker serves that queue; 0 turns it off.",
)

# --- Authentication -------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:staff-home"
LOGOUT_REDIRECT_URL = "core:home"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "regiohub.core.auth.oidc.OIDCBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
REQUIRE_2FA = config(
    "REGIOHUB_REQUIRE_2FA",
    True,
    help_text="Local accounts must confirm a TOTP code at login (and enrol an "
    "authenticator app at their first login). OIDC logins rely on the identity provider.",
)
OTP_TOTP_ISSUER = config(
    "REGIOHUB_TOTP_ISSUER", "regiohub", help_text="Name shown in the authenticator app."
)
LOGIN_FAILURE_LIMIT = config(
    "REGIOHUB_LOGIN_FAILURE_LIMIT",
    5,
    help_text="Failed logins (password or code) from one address for one account before "
    "that combination is locked out.",
)
LOGIN_COOLOFF_MINUTES = config(
    "REGIOHUB_LOGIN_COOLOFF_MINUTES",
    15,
    help_text="Minutes a locked-out login stays locked.",
)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = LOGIN_COOLOFF_MINUTES / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_CALLABLE = "regiohub.core.auth.views.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = config(
    "REGIOHUB_PROXY_COUNT",
    0,
    help_text="Number of reverse proxies in front of the site; the client address for "
    "rate limits is read from X-Forwarded-For accordingly.",
)

OIDC_ISSUER_URL = config(
    "OIDC_ISSUER_URL",
    "",
    help_text="Issuer URL of the OpenID Connect provider (its "
    "/.well-known/openid-configuration is read). Empty disables OIDC login.",
)
OIDC_RP_CLIENT_ID = config("OIDC_RP_CLIENT_ID", "", help_text="OIDC client id of regiohub.")
OIDC_RP_CLIENT_SECRET = config(
    "OIDC_RP_CLIENT_SECRET", "", help_text="OIDC client secret of regiohub."
)
OIDC_RP_SCOPES = "openid email profile"
OIDC_RP_SIGN_ALGO = config(
    "OIDC_RP_SIGN_ALGO", "RS256", help_text="Algorithm the provider signs ID tokens with."
)
OIDC_CREATE_USER = config(
    "OIDC_CREATE_USERS",
    False,
    help_text="Create an account for an unknown person who logs in through OIDC. "
    "Off by default: an administrator adds people (with their roles) first.",
)
OIDC_USERNAME_ALGO = "regiohub.core.auth.oidc.username_from_email"
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "/account/login/?oidc=failed"

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Brussels"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "regiohub_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static and media files -----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# --- Mail -----------------------------------------------------------------------------
EMAIL_HOST = config(
    "EMAIL_HOST",
    "",
    help_text="SMTP server. When empty, mails are written as files to "
    "REGIOHUB_DATA_DIR/mail (handy for the demo).",
)
EMAIL_PORT = config("EMAIL_PORT", 587, help_text="SMTP port.")
EMAIL_HOST_USER = config("EMAIL_HOST_USER", "", help_text="SMTP user name.")
EMAIL_HOST_PASSWORD = config("EMAIL_HOST_PASSWORD", "", help_text="SMTP password.")
EMAIL_USE_TLS = config("EMAIL_USE_TLS", True, help_text="Use STARTTLS towards the server.")
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = config(
    "DEFAULT_FROM_EMAIL",
    "regiohub <noreply@regiohub.localhost>",
    help_text="Sender of the mails regiohub sends.",
)
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "mail"

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = config(
    "REGIOHUB_SESSION_SECONDS",
    8 * 3600,
    help_text="How long a staff login lasts (seconds).",
)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# A form sent after its page expired gets the site's own 403 page (core.errors).
CSRF_FAILURE_VIEW = "regiohub.core.errors.csrf_failure"
LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
MAP_TILE_URL = config(
    "REGIOHUB_MAP_TILE_URL",
    "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    help_text="Map tiles (XYZ URL template) for the maps; empty shows only the boundaries.",
)
MAP_ATTRIBUTION = config(
    "REGIOHUB_MAP_ATTRIBUTION",
    "© OpenStreetMap",
    help_text="Attribution shown on the map for the tiles.",
)
GEOCODER = config(
    "REGIOHUB_GEOCODER",
    "",
    help_text='Geocoder plugin name, e.g. "vlaanderen"; empty = no geocoder: addresses typed '
    "on forms are kept as text and the place is the municipality's centre, marked approximate.",
)
GEOCODER_SETTINGS = config(
    "REGIOHUB_GEOCODER_SETTINGS",
    {},
    help_text='The geocoder plugin\'s settings as a JSON object, e.g. {"api_key": "…"}.',
)
_tile_origin = "/".join(MAP_TILE_URL.split("/")[:3]) if "://" in MAP_TILE_URL else ""
CONTENT_SECURITY_POLICY = config(
    "REGIOHUB_CSP",
    f"default-src 'self'; img-src 'self' data: {_tile_origin}; style-src 'self'; "
    "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'",
    help_text="Content-Security-Policy header sent with every page.",
)
MAX_REQUEST_MB = config(
    "REGIOHUB_MAX_REQUEST_MB",
    40,
    help_text="Largest request body accepted (413 above), uploads included.",
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "regiohub.core.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "regiohub.core.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "NUM_PROXIES": AXES_IPWARE_PROXY_COUNT,
    "DEFAULT_THROTTLE_CLASSES": [
        "regiohub.core.api.throttling.AnonymousRateThrottle",
        "regiohub.core.api.throttling.AccountRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": config(
            "REGIOHUB_API_ANON_RATE",
            "60/minute",
            help_text="Request limit per address for anonymous API clients.",
        ),
        "user": config(
            "REGIOHUB_API_USER_RATE",
            "600/minute",
            help_text="Request limit per logged-in API user.",
        ),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "regiohub API",
    "DESCRIPTION": "The shared platform of a region of municipalities.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "regiohub.core.api.schema.add_module_paths",
    ],
}

# --- Logging --------------------------------------------------------------------------
LOG_FORMAT = config(
    "REGIOHUB_LOG_FORMAT",
    "console",
    help_text="'json' for one JSON object per line (for log collectors), 'console' for "
    "people reading a terminal.",
)
LOG_LEVEL = config("REGIOHUB_LOG_LEVEL", "INFO", help_text="Lowest level that is logged.")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)

USAGE_FLUSH_SECONDS = config(
    "REGIOHUB_USAGE_FLUSH_SECONDS",
    10.0,
    help_text="How often each process writes what it counted of the use of datasets (page "
    "views, downloads, API calls), in seconds; 0 writes only when asked (tests).",
)
WEB_CONCURRENCY = config(
    "WEB_CONCURRENCY", 2, help_text="Web server worker processes started by regiohub serve."
)

# --- Region ---------------------------------------------------------------------------
REGION_NAME = config(
    "REGIOHUB_REGION_NAME",
    "Zuid-West-Vlaanderen",
    help_text="Name of the region shown in the page header.",
)

# --- Modules --------------------------------------------------------------------------
# Each module brings its own settings (``<module>/settings.py``, env names
# REGIOHUB_<MODULE>_*), menu entries, permissions and privacy handler (core.modules).
MODULES = [
    "regiohub.meldpunt",
    "regiohub.datasets",
    "regiohub.opendata",
    "regiohub.dashboards",
    "regiohub.documents",
]
INSTALLED_APPS += MODULES
for _module in MODULES:
    globals().update(module_settings(_module))
