# One image for web, worker and beat. The command picks the role (see compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/var/lib/backup-frameworks

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY frameworks ./frameworks
COPY backup_emulator ./backup_emulator
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install . \
    && SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 app && mkdir -p "$DATA_DIR" && chown app "$DATA_DIR"

USER app
EXPOSE 8000
# Web by default; the worker runs `celery -A config worker`, beat `celery -A config beat`.
# gthread workers, so a long export outlives the worker timeout (config/gunicorn.py).
CMD ["gunicorn", "-c", "config/gunicorn.py"]
