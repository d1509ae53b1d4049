# Herald: one image for the scheduler, the workers and the web app.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HERALD_DATA_DIR=/data HERALD_WEB_HOST=0.0.0.0

RUN useradd --create-home --uid 10001 herald && mkdir /data && chown herald /data
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY herald herald
COPY content_queue content_queue
COPY scheduler scheduler
COPY tasks tasks
COPY celeryconfig.py .
# Every dependency from the lock file, checked against its hash; then Herald itself.
RUN pip install --no-cache-dir --require-hashes -r requirements.lock \
 && pip install --no-cache-dir --no-deps '.[postgres]'

USER herald
EXPOSE 8600
CMD ["herald", "web"]
