# syntax=docker/dockerfile:1
# burstscaler operator image: `docker build -t burstscaler:0.1.0 .`
#
# Stage 1 builds wheels: burstscaler's own, from this repository, and those of its dependencies,
# resolved by pip from pyproject.toml exactly as the README's `pip install .` resolves them.
# Stage 2 installs those wheels with pip, offline, into a clean slim image with no compiler, no
# pip/setuptools left behind, and runs as a non-root numeric user (runAsNonRoot can verify it).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY burstscaler ./burstscaler
RUN pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS final
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels burstscaler \
    && pip uninstall --yes setuptools wheel pip \
    && groupadd --gid 10001 burstscaler \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin burstscaler
USER 10001:10001
WORKDIR /tmp
# 8080: Kopf's liveness endpoint (/healthz); 9090: Prometheus /metrics.
EXPOSE 8080 9090
ENTRYPOINT ["burstscaler", "run"]
