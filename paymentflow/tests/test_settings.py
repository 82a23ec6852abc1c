"""The settings module under different environments, each loaded in a clean subprocess."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

# A developer's .env (written by `make run`) must not leak into these checks:
# each subprocess sees only the variables a test passes.
PRELUDE = "import environ; environ.Env.read_env = lambda *args, **kwargs: None\n"


def run(code: str, **variables: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "paymentflow.settings",
        "DELIVERY_ENCRYPTION_KEYS": os.environ["DELIVERY_ENCRYPTION_KEYS"],
        **variables,
    }
    return subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", PRELUDE + code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


DUMP_SETTINGS = """
import json
import django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"],
    "options": db.get("OPTIONS", {}),
    "conn_max_age": db.get("CONN_MAX_AGE"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG,
    "access_minutes": settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() / 60,
    "refresh_days": settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].days,
    "signing_key_is_secret": settings.SIMPLE_JWT["SIGNING_KEY"] == settings.SECRET_KEY,
    "throttle": settings.AUTH_THROTTLE_RATE,
    "num_proxies": settings.REST_FRAMEWORK["NUM_PROXIES"],
    "proxy_ssl_header": settings.SECURE_PROXY_SSL_HEADER,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "prefix": settings.API_PREFIX,
    "currency": settings.CURRENCY,
}))
"""


def dump(**variables: str) -> dict:
    result = run(DUMP_SETTINGS, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_forwarded_proto_is_believed_only_behind_a_proxy():
    secret = {"DJANGO_SECRET_KEY": "x" * 50}

    assert dump(**secret)["proxy_ssl_header"] is None
    assert dump(**secret, NUM_PROXIES="1")["proxy_ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_refuses_to_start_without_a_secret_key():
    result = run("import django; django.setup()", DJANGO_DEBUG="false")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_delivery_encryption_keys():
    result = run("import django; django.setup()", DJANGO_SECRET_KEY="k" * 50, DELIVERY_ENCRYPTION_KEYS="")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DELIVERY_ENCRYPTION_KEYS" in result.stderr


def test_a_delivery_key_that_is_not_a_fernet_key_is_refused():
    result = run("import django; django.setup()", DJANGO_SECRET_KEY="k" * 50, DELIVERY_ENCRYPTION_KEYS="short,x")

    assert result.returncode != 0
    assert "DELIVERY_ENCRYPTION_KEYS" in result.stderr


def test_debug_derives_a_delivery_key_from_the_secret_key():
    code = "import django; from django.conf import settings; django.setup(); print(settings.DELIVERY_ENCRYPTION_KEYS)"

    first = run(code, DJANGO_DEBUG="true", DJANGO_SECRET_KEY="a" * 50, DELIVERY_ENCRYPTION_KEYS="")
    again = run(code, DJANGO_DEBUG="true", DJANGO_SECRET_KEY="a" * 50, DELIVERY_ENCRYPTION_KEYS="")
    other = run(code, DJANGO_DEBUG="true", DJANGO_SECRET_KEY="b" * 50, DELIVERY_ENCRYPTION_KEYS="")

    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout != other.stdout


def test_debug_defaults_to_false():
    result = run("import django; django.setup()")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_debug_runs_on_a_development_key():
    assert dump(DJANGO_DEBUG="true")["debug"] is True


def test_without_urls_it_uses_sqlite_immediate_and_a_cache_every_process_shares():
    values = dump(DJANGO_SECRET_KEY="k" * 50)

    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["options"]["transaction_mode"] == "IMMEDIATE"
    assert values["cache"] == "core.cache.SharedDatabaseCache"


def test_with_urls_it_uses_postgresql_and_redis():
    values = dump(
        DJANGO_SECRET_KEY="k" * 50,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/anything",
        REDIS_URL="redis://127.0.0.1:6379/9",
    )

    assert values["engine"] == "core.postgresql"  # Django's, with a health check that sends no query
    assert values["conn_max_age"] == 60
    assert values["cache"] == "django_redis.cache.RedisCache"


def test_contract_defaults():
    values = dump(DJANGO_SECRET_KEY="k" * 50)

    assert values["access_minutes"] == 15
    assert values["refresh_days"] == 7
    assert values["signing_key_is_secret"] is True
    assert values["throttle"] == "10/min"
    assert values["num_proxies"] == 0
    assert values["ssl_redirect"] is True
    assert values["prefix"] == "api/v1"
    assert values["currency"] == "USD"


def test_environment_overrides_the_defaults():
    values = dump(
        DJANGO_SECRET_KEY="k" * 50,
        JWT_ACCESS_TTL_MINUTES="5",
        JWT_REFRESH_TTL_DAYS="1",
        JWT_SIGNING_KEY="s" * 50,
        AUTH_THROTTLE_RATE="100/hour",
        NUM_PROXIES="1",
        DJANGO_SECURE_SSL_REDIRECT="false",
        CURRENCY="eur",
    )

    assert values["access_minutes"] == 5
    assert values["refresh_days"] == 1
    assert values["signing_key_is_secret"] is False
    assert values["throttle"] == "100/hour"
    assert values["num_proxies"] == 1
    assert values["ssl_redirect"] is False
    assert values["currency"] == "EUR"


DEPLOY_CHECK = (
    "from django.core.management import execute_from_command_line\n"
    "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
)

# What .ci/run passes: HTTPS settings spelled out, a real host, behind one proxy.
PRODUCTION_LIKE = {
    "DJANGO_ALLOWED_HOSTS": "pay.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://pay.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_COOKIES": "true",
    "DJANGO_HSTS_SECONDS": "31536000",
    "NUM_PROXIES": "1",
    "DATABASE_URL": "postgres://app:secret@db.internal:5432/paymentflow",
    "REDIS_URL": "redis://cache.internal:6379/0",
}


@pytest.mark.parametrize("variables", [{}, PRODUCTION_LIKE], ids=["defaults", "production-like"])
def test_deploy_check_is_clean_in_production_mode(variables):
    result = run(DEPLOY_CHECK, DJANGO_DEBUG="false", DJANGO_SECRET_KEY=secrets.token_urlsafe(50), **variables)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output
    assert "System check identified no issues" in output


@pytest.mark.parametrize(
    ("weakening", "warning"),
    [
        ({"DJANGO_HSTS_SECONDS": "0"}, "security.W004"),
        ({"DJANGO_SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"DJANGO_SECURE_COOKIES": "false"}, "security.W012"),
        ({"DJANGO_SECRET_KEY": "short"}, "security.W009"),
    ],
)
def test_deploy_check_fails_on_each_weakening(weakening, warning):
    # The check that CI runs must have teeth: turning off any HTTPS setting fails it.
    variables = {**PRODUCTION_LIKE, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), **weakening}

    result = run(DEPLOY_CHECK, DJANGO_DEBUG="false", **variables)

    assert result.returncode != 0
    assert warning in result.stdout + result.stderr


CROSS_ORIGIN_AND_METRICS = """
import json
import django
from django.conf import settings
django.setup()
print(json.dumps({"origins": settings.CORS_ALLOWED_ORIGINS, "metrics_token": settings.METRICS_TOKEN}))
"""


@pytest.mark.parametrize(
    ("variables", "origins", "token"),
    [
        ({}, [], ""),
        (
            {"CORS_ALLOWED_ORIGINS": "https://app.example.com,http://localhost:3000", "METRICS_TOKEN": "t" * 32},
            ["https://app.example.com", "http://localhost:3000"],
            "t" * 32,
        ),
    ],
    ids=["defaults", "set"],
)
def test_cross_origin_and_metrics_come_from_the_environment(variables, origins, token):
    result = run(CROSS_ORIGIN_AND_METRICS, DJANGO_SECRET_KEY="k" * 50, **variables)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"origins": origins, "metrics_token": token}


DELIVERY_STORAGE = """
import json
import django
from django.conf import settings
django.setup()
from django.core.files.storage import storages
storage = storages["delivery"]
print(json.dumps({
    "backend": type(storage).__name__,
    "location": str(storage.location),
    "bucket": getattr(storage, "bucket_name", None),
    "endpoint": getattr(storage, "endpoint_url", None),
    "expire": getattr(storage, "querystring_expire", None),
}))
"""


def test_product_files_live_under_media_root_by_default(tmp_path):
    result = run(DELIVERY_STORAGE, DJANGO_SECRET_KEY="x" * 50, MEDIA_ROOT=str(tmp_path))

    assert result.returncode == 0, result.stderr
    storage = json.loads(result.stdout)
    assert (storage["backend"], storage["location"]) == ("FileSystemStorage", str(tmp_path / "delivery"))


def test_a_bucket_puts_product_files_in_s3_with_links_as_long_as_download_links():
    result = run(
        DELIVERY_STORAGE,
        DJANGO_SECRET_KEY="x" * 50,
        DELIVERY_S3_BUCKET="shop-files",
        DELIVERY_S3_ENDPOINT_URL="https://s3.example.com",
        DOWNLOAD_LINK_TTL_SECONDS="120",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "backend": "S3Storage",
        "location": "delivery",
        "bucket": "shop-files",
        "endpoint": "https://s3.example.com",
        "expire": 120,
    }
