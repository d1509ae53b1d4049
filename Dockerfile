# Herald: one image for the scheduler, the workers and the web app. Slim base, no compiler;
# it runs as an unprivileged user (uid 10001) that owns nothing but /data.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HERALD_DATA_DIR=/data HERALD_WEB_HOST=0.0.0.0

RUN useradd --create-home --uid 10001 herald && mkdir /data && chown herald /data
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY herald herald
COPY content_queue content_queue
COPY scheduler scheduler
COPY tasks tasks
COPY celeryconfig.py .
# Every dependency from the lock file, checked against its hash; then Herald itself, built with
# the locked setuptools (no build isolation: nothing is fetched unpinned, not even the builder).
RUN pip install --no-cache-dir --require-hashes -r requirements.lock \
 && pip install --no-cache-dir --no-deps --no-build-isolation '.[postgres]'

USER herald
EXPOSE 8600
CMD ["herald", "web"]
