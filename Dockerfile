# Payment Flow: the API and both back offices behind gunicorn, static files by whitenoise.
# Build: docker build -t paymentflow .   Run the whole stack: docker compose up (docker-compose.yml).
FROM python:3.11-slim

# gunicorn.conf.py reads its worker count from WEB_CONCURRENCY; override it at run time.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_CONCURRENCY=3

RUN useradd --create-home --uid 10001 --user-group app

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --chown=app:app . .
# media/: product files (MEDIA_ROOT), a volume in compose shared by every replica.
# var/metrics/: the metrics volume of app and worker (PROMETHEUS_MULTIPROC_DIR). Both exist
# here, owned by app, so that a fresh named volume mounted on them is writable by it.
RUN mkdir -p /app/media /app/var/metrics && chown app:app /app /app/media /app/var /app/var/metrics
USER app

# The settings refuse to load without a secret and delivery keys when DEBUG is off; these exist
# only for this build step and is not part of the image's environment.
RUN DJANGO_SECRET_KEY=build-time-collectstatic-only DELIVERY_ENCRYPTION_KEYS=YnVpbGQtdGltZS1vbmx5LWRlbGl2ZXJ5LWtleS0wMTI= python manage.py collectstatic --no-input --verbosity 0

EXPOSE 8000

# Probes over loopback, so DJANGO_ALLOWED_HOSTS must keep 127.0.0.1 (the default does).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4)"]

# gunicorn.conf.py: threaded workers, one access log (the app's), no control socket.
ENV HOST=0.0.0.0 PORT=8000
CMD ["gunicorn", "paymentflow.wsgi"]
