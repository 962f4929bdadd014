# Merkwacht: the daemon in a small image. Config is mounted read-only; secrets come from the environment.

# The analyser's optional C scorer needs a compiler to build; the image that runs it does not keep one.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MPLBACKEND=Agg \
    MERKWACHT_CONFIG=/config/config.toml

COPY --from=build /wheels /wheels
RUN pip install "$(ls /wheels/merkwacht-*.whl)[postgres]" && rm -r /wheels \
    && python -c "import bot.analysis._speedups" \
    && useradd --system --uid 10001 --home-dir /data merkwacht \
    && mkdir -p /data && chown merkwacht /data

USER merkwacht
WORKDIR /data
VOLUME ["/data"]

# /healthz answers on the loopback port from [ops]; the health check runs inside the container, so loopback works.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=4).status == 200 else 1)"

# SIGTERM lets the poll in flight commit and closes the clients (under 10 s); give it that long.
STOPSIGNAL SIGTERM
ENTRYPOINT ["merkwacht"]
CMD ["run"]
