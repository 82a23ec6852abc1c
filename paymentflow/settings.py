"""Settings for Payment Flow: one module, every value read from the environment.

The variables and their defaults are the table in docs/operations.md
(Configuration). A `.env` file next to manage.py is loaded when
present, so `make run` works without exporting anything.
"""

import base64
import hashlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# A development key is only acceptable while DEBUG is on; production must set one.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is false.")
    SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production"  # noqa: S105 (DEBUG only)

# Codes of CODES products are encrypted at rest (delivery/crypto.py): comma-separated
# Fernet keys, the first encrypts, all decrypt. Like the secret key, only DEBUG may
# run without them, on keys derived from the (development) secret key.
DELIVERY_ENCRYPTION_KEYS = [
    key.strip() for key in env.str("DELIVERY_ENCRYPTION_KEYS", default="").split(",") if key.strip()
]
if not DELIVERY_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DELIVERY_ENCRYPTION_KEYS is required when DJANGO_DEBUG is false (generate one with "
            "python3 -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')."
        )
    DELIVERY_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(b"paymentflow.delivery.dev-key:" + SECRET_KEY.encode()).digest()
        ).decode()
    ]
for _key in DELIVERY_ENCRYPTION_KEYS:
    try:
        if len(base64.urlsafe_b64decode(_key.encode("ascii"))) != 32:
            raise ValueError
    except ValueError:
        raise ImproperlyConfigured(
            "Each DELIVERY_ENCRYPTION_KEYS entry must be 32 bytes in url-safe base64 (a Fernet key)."
        ) from None

# Every API path lives under this prefix (no trailing slash on the paths).
API_PREFIX = env.str("API_PREFIX", default="api/v1").strip("/")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django's admin without autodiscovery: both back office sites and every page
    # on them are registered by backoffice/ (backoffice/sites.py).
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "core",
    "accounts",
    "wallets",
    "catalog",
    "delivery",
    "orders",
    "reconciliation",
    "notifications",
    "backoffice",
]

MIDDLEWARE = [
    # First: a request id for every request and one access log line, whatever answers it.
    "core.middleware.RequestLogMiddleware",
    # Before anything that can answer (redirects, whitenoise): a preflight is answered here.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "djangorestframework_camel_case.middleware.CamelCaseMiddleWare",
]

# `make bench` only: installs the benchmarks' app (bench/app/), which mounts
# GET /api/v1/bench/ok (the framework's floor), adds a Server-Timing header to
# every response and provides `manage.py generate_ledger`. Never in production.
BENCH = env.bool("BENCH", default=False)
if BENCH:
    INSTALLED_APPS.append("bench.app")
    MIDDLEWARE.insert(0, "bench.app.middleware.ServerTimingMiddleware")

ROOT_URLCONF = "paymentflow.urls"
WSGI_APPLICATION = "paymentflow.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# Embedded SQLite when no DATABASE_URL is set: BEGIN IMMEDIATE makes writers take
# the database lock up front, so two purchases serialize instead of failing with
# "database is locked" half-way through. PostgreSQL otherwise, with persistent
# connections (CONN_MAX_AGE) and health checks so a closed connection is replaced.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
else:
    # The same backend with a health check that sends no query (core/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "core.postgresql"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # true behind pgbouncer in transaction mode (docs/scaling.md): no named cursors
    # that could outlive the transaction pgbouncer lent the server connection for.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------
# Redis is an optimisation, never a dependency: IGNORE_EXCEPTIONS turns a dead
# Redis into cache misses, and the short timeouts keep a request from stalling.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="paymentflow"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    # Embedded default: one cache for every process on the machine, in the database
    # (core/cache.py; `migrate` creates its table).
    CACHES = {
        "default": {
            "BACKEND": "core.cache.SharedDatabaseCache",
            "LOCATION": "paymentflow_cache",
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="paymentflow"),
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }

# --- Background work (Celery: paymentflow/celery.py) ----------------------------
# The queue lives in REDIS_URL's database (CELERY_BROKER_URL overrides it). Without Redis,
# the embedded default (`make run`) uses kombu's filesystem transport: messages are files
# in one folder that web, worker and beat on this machine all share, so background work
# still runs in its own process, with its retries and backoff, rather than eagerly inside
# a web request; it needs no other server, and works on one machine only.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
# Local state of background work: beat's schedule file, and the filesystem broker's folders.
# Made by the processes that use them (paymentflow/celery.py), not by loading the settings.
BACKGROUND_DIR = Path(env.str("BACKGROUND_DIR", default=str(BASE_DIR / "var")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BACKGROUND_DIR / "queue"),
        "data_folder_out": str(BACKGROUND_DIR / "queue"),
        "control_folder": str(BACKGROUND_DIR / "queue-control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A message a killed worker had taken is given to another worker after this long.
        # Longer than any task may run (the nightly reconciliation's limit is 31 min); tasks
        # are never scheduled further ahead (retries are rows with a due time, swept by
        # beat), so nothing is delivered twice for waiting.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=3600),
        # A dead Redis at commit costs a request about a second, then the sweep takes over.
        "socket_connect_timeout": 1,
    }
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "paymentflow"
# JSON only: a message is data, never a pickle that could run code in the worker.
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# Acknowledged after the task ran, and given back if its worker process dies: a killed
# worker loses no message (every task is idempotent, so one that ran twice does nothing more).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# SoftTimeLimitExceeded is raised in the task after the soft limit; the process is killed at the hard one.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT_SECONDS", default=60)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 30
# The worker logs through LOGGING below (JSON lines with the request id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(BACKGROUND_DIR / "celerybeat-schedule")
# One beat per deployment (docs/scaling.md): each entry runs once, on whichever worker takes it.
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "core.outbox_sweep", "schedule": 60.0},
    "stripe-events-sweep": {"task": "orders.webhook_events_sweep", "schedule": 300.0},
    "expire-orders": {"task": "orders.expire_due", "schedule": 60.0},
    "purge-idempotency-keys": {"task": "core.idempotency_keys_purge", "schedule": 3600.0},
    "reconcile-nightly": {"task": "reconciliation.nightly", "schedule": crontab(hour=3, minute=30)},
}
# Where the nightly reconciliation's alert goes (comma-separated); empty: every active staff superuser.
OPERATOR_ALERT_EMAILS = env.list("OPERATOR_ALERT_EMAILS", default=[])

# --- Auth ---------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# bcrypt at cost 12 (Django's default rounds for this hasher) on a SHA-256
# pre-hash, so passwords longer than bcrypt's 72-byte limit are not truncated.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.BCryptSHA256PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -----------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (admin), served by whitenoise -------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "core.storage.StaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Development serves straight from the apps; without a manifest (tests, a
# checkout before `collectstatic`) URLs fall back to unhashed names, not a 500.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_MANIFEST_STRICT = False

# --- Security -----------------------------------------------------------------
# Secure by default when DEBUG is off (HTTPS redirect, HSTS, secure cookies), so
# `check --deploy` is clean. Behind a TLS-terminating proxy set NUM_PROXIES and
# keep these on; `make run` on plain http://localhost turns the first two off in
# its generated .env.
# Forwarded headers are believed only from proxies we run behind (NUM_PROXIES):
# without one, any client could claim https (or another address, for the rate limits).
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if NUM_PROXIES >= 1 else None
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe health over plain HTTP.
SECURE_REDIRECT_EXEMPT = [rf"^{API_PREFIX}/health$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

# --- API ----------------------------------------------------------------------
CURRENCY = env.str("CURRENCY", default="USD").upper()
# Quantized so messages and checks always speak in cents ("50.00", not "50").
MINIMUM_WITHDRAWAL = Decimal(env.str("MINIMUM_WITHDRAWAL", default="1.00")).quantize(Decimal("0.01"))
MAXIMUM_DEPOSIT = Decimal(env.str("MAXIMUM_DEPOSIT", default="10000.00")).quantize(Decimal("0.01"))
PLATFORM_FEE_PERCENT = Decimal(env.str("PLATFORM_FEE_PERCENT", default="0"))
if not Decimal(0) <= PLATFORM_FEE_PERCENT < Decimal(100):
    raise ImproperlyConfigured("PLATFORM_FEE_PERCENT must be at least 0 and below 100.")
PRODUCT_CACHE_TTL = env.int("PRODUCT_CACHE_TTL", default=60)
AUTH_THROTTLE_RATE = env.str("AUTH_THROTTLE_RATE", default="10/min")
LICENSE_THROTTLE_RATE = env.str("LICENSE_THROTTLE_RATE", default="60/min")
PAYMENT_RESERVATION_MINUTES = env.int("PAYMENT_RESERVATION_MINUTES", default=15)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
# A claim whose request never finished (a killed worker) may be retried after this.
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = env.int("IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", default=60)

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
# Stripe calls one process may have waiting at once; more fail at once with 503 (core/gateway.py).
GATEWAY_MAX_CONCURRENT_CALLS = env.int("GATEWAY_MAX_CONCURRENT_CALLS", default=4)

# --- Cross-origin and metrics (docs/api.md, Cross-origin; docs/operations.md, Metrics)
# Browsers on these origins may call the API (and only the API): no cookies, the
# bearer token is the credential, so CORS_ALLOW_CREDENTIALS stays off.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = rf"^/{API_PREFIX}/"
CORS_ALLOW_HEADERS = ("authorization", "content-type", "idempotency-key")
CORS_EXPOSE_HEADERS = ("Idempotent-Replayed", "Retry-After", "X-Request-ID")
# Empty: no metrics endpoint (404). Scrapers send it as a bearer token.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Delivery: product files and download links (docs/delivery.md) --------------
# Uploads of product files are streamed to a temporary file as they arrive (hashed on the
# way, FILE_UPLOAD_TEMP_DIR or the system's), never held in memory; their size is
# bounded by DELIVERY_MAX_FILE_BYTES, not by DATA_UPLOAD_MAX_MEMORY_SIZE, which counts
# only the non-file fields of a multipart body.
DELIVERY_MAX_FILE_BYTES = env.int("DELIVERY_MAX_FILE_BYTES", default=100 * 1024 * 1024)
DOWNLOAD_LINK_TTL_SECONDS = env.int("DOWNLOAD_LINK_TTL_SECONDS", default=300)
DOWNLOAD_LIMIT = env.int("DOWNLOAD_LIMIT", default=5)
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None
# Never served under a URL of its own: buyers download through signed links only.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Product files live in the "delivery" storage: the filesystem under MEDIA_ROOT, or an
# S3-compatible bucket when DELIVERY_S3_BUCKET is set (django-storages; credentials from
# boto3's own chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or an instance role).
DELIVERY_S3_BUCKET = env.str("DELIVERY_S3_BUCKET", default="")
if DELIVERY_S3_BUCKET:
    STORAGES["delivery"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": DELIVERY_S3_BUCKET,
            "endpoint_url": env.str("DELIVERY_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("DELIVERY_S3_REGION", default="") or None,
            "location": env.str("DELIVERY_S3_PREFIX", default="delivery"),
            "addressing_style": env.str("DELIVERY_S3_ADDRESSING_STYLE", default="") or None,
            # Private objects; buyers get presigned URLs that live as long as a download link.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": DOWNLOAD_LINK_TTL_SECONDS,
            # SigV4 presigned URLs: what every AWS region and S3-compatible service accepts.
            "signature_version": "s3v4",
            "file_overwrite": False,
        },
    }
else:
    STORAGES["delivery"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "delivery"},
    }

# --- Merchant webhooks and emails (notifications/, docs/webhooks.md) --------------
# First retry after this many seconds, doubling after each failed attempt.
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30)
# Attempts in all before a delivery is FAILED (API.md: at least 6).
WEBHOOK_MAX_ATTEMPTS = max(6, env.int("WEBHOOK_MAX_ATTEMPTS", default=8))
# Connect, send and read together; a slower answer is a failed attempt.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5)
# An endpoint whose every attempt has failed for this long is disabled and its merchant told.
WEBHOOK_DISABLE_AFTER_DAYS = env.float("WEBHOOK_DISABLE_AFTER_DAYS", default=3)
# Local development and tests only: http:// URLs / loopback, private and other internal addresses.
WEBHOOK_ALLOW_INSECURE_URLS = env.bool("WEBHOOK_ALLOW_INSECURE_URLS", default=False)
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
# Retries are rows with a due time: these sweeps send what is due (and what a lost message
# or a killed worker left behind), so a retry goes out at most this many seconds late.
CELERY_BEAT_SCHEDULE |= {
    "webhook-deliveries-retry-due": {"task": "notifications.tasks.webhook_deliveries_retry_due", "schedule": 10.0},
    "emails-send-due": {"task": "notifications.tasks.emails_send_due", "schedule": 30.0},
}

# Mail (receipts, sale notifications): django-environ's EMAIL_URL syntax.
# EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER/PASSWORD, EMAIL_USE_TLS/SSL.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Payment Flow <no-reply@localhost>")
# A mail server that does not answer within this is a failed attempt, retried later.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# First retry of an email after this many seconds, doubling, at most an hour apart.
EMAIL_RETRY_BASE_SECONDS = env.float("EMAIL_RETRY_BASE_SECONDS", default=60)
# The site's public address, for the links in emails (a worker has no request to build them from).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://localhost:8000").rstrip("/")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.VersionedJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.CamelCaseORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.DecimalCamelCaseJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageLimitPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": AUTH_THROTTLE_RATE},
    # X-Forwarded-For: 0 proxies means the client IP is REMOTE_ADDR.
    "NUM_PROXIES": NUM_PROXIES,
    # Money leaves as "100.50": a string with exactly two places, never a float.
    "COERCE_DECIMAL_TO_STRING": True,
    # The API's time format: ISO 8601 UTC to the second, "2026-01-01T00:00:00Z".
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_TTL_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_TTL_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Payment Flow API",
    "DESCRIPTION": (
        "Wallets on a double-entry ledger, merchants' digital products, and "
        "purchases paid from a wallet or by card (Stripe). Every error is "
        "`application/problem+json` with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": f"/{API_PREFIX}",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
    ],
    "ENUM_NAME_OVERRIDES": {
        "DependencyStatusEnum": ["ok", "unavailable"],
        "DeliveryStatusEnum": "delivery.models.DeliveryStatus",
        "EventTypeEnum": "core.outbox.EventType",
    },
}

# One JSON object per line (LOG_FORMAT=plain: one readable line), each tagged with its
# request id and scrubbed of tokens and keys (core/logging.py, docs/security.md).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "core.logging.JsonFormatter"},
        "plain": {"()": "core.logging.PlainFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain" if LOG_FORMAT == "plain" else "json"}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django_redis": {"level": "ERROR"}},
}
