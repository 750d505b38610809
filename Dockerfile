# One image for web, worker and beat; the command picks the role (see compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/var/lib/backup-frameworks

WORKDIR /app
# The locked production dependencies first: this layer is rebuilt only when the lock changes,
# and two builds of one commit install the same versions. No test tools, no honcho.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

COPY pyproject.toml README.md manage.py ./
COPY config ./config
COPY frameworks ./frameworks
COPY backup_emulator ./backup_emulator
COPY templates ./templates
COPY static ./static
# collectstatic needs settings, not secrets: throwaway values that exist only in this step.
RUN pip install --no-deps . \
    && SECRET_KEY=build-only SITE_URL=http://build.invalid python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 app && mkdir -p "$DATA_DIR" && chown app "$DATA_DIR"

USER app
EXPOSE 8000
# The web process answers /healthz; compose gives the worker and beat checks of their own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# Web by default; the worker runs `celery -A config worker`, beat `celery -A config beat`.
# gthread workers, so a long export outlives the worker timeout (config/gunicorn.py).
CMD ["gunicorn", "-c", "config/gunicorn.py"]
