# The cart service in production mode. Needs DATABASE_URL_ASYNC and SECRET_KEY at run time
# (and REDIS_URL, APP_URL_*, TRUSTED_PROXY_HOPS as the deployment has them).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_MODE=production

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml ./
RUN pip install .

COPY . .
RUN useradd --system --uid 10001 --home-dir /app cart
USER cart

EXPOSE 8002
HEALTHCHECK --interval=30s --timeout=5s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8002/healthz', timeout=4)"

# Migrate, then serve. exec: hypercorn becomes PID 1 and receives the stop signal.
# A bad setting stops `manage.py migrate` first, with one line and exit status 1 (as PID 1,
# hypercorn itself would exit 0 after its worker refused to start: see the README).
CMD ["sh", "-c", "python manage.py migrate && exec hypercorn app:app --bind 0.0.0.0:8002"]
