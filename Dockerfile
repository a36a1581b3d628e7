# One image for every replica; configuration comes from the environment.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/glocal
COPY pyproject.toml requirements.lock README.md ./
COPY backend ./backend
COPY bot ./bot
COPY miniapps ./miniapps
COPY locales ./locales
COPY migrations ./migrations
RUN pip install --no-cache-dir --constraint requirements.lock . \
    && useradd --system --home /data glocal && mkdir -p /data && chown glocal /data
USER glocal
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2)" || exit 1
CMD ["glocal", "serve"]
