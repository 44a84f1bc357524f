# Podium itself, running spaces as sibling containers on the host's Docker engine (docker backend):
#
#   docker build -t podium .                                      # or --build-arg BASE_IMAGE=podium-base:bookworm
#   docker run -d -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" \
#       -v podium-data:/data -p 7860:7860 -p 7861:7861 podium
#
# Spaces' secrets are encrypted with a key kept outside /data and its backups (podium.secret_box): keep it
# across containers with -v podium-keys:/home/podium/.config/podium, or pass PODIUM_SECRETS_KEY.
#
# Any Debian-based image with Python 3.11+ and python3-venv works as the base; CI uses the one
# `podium images bootstrap` builds from Debian packages, for hosts without a registry.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

USER root
# git stores each space's revisions; tini reaps the git and build helpers Podium starts.
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin podium \
    && mkdir -p /data && chown podium:podium /data

ENV VIRTUAL_ENV=/opt/podium PATH=/opt/podium/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 UV_SYSTEM_CERTS=1
# uv installs the dependencies (several times faster than pip), from the project's metadata only,
# so that a code change reuses this layer.
RUN python3 -m venv /opt/podium && pip install uv
COPY pyproject.toml README.md /deps/
RUN mkdir -p /deps/platform/podium /deps/runner/podium_runner \
    && touch /deps/platform/podium/__init__.py /deps/runner/podium_runner/__init__.py \
    && uv pip install --no-cache /deps && uv pip uninstall podium && rm -rf /deps
COPY pyproject.toml README.md /src/
COPY platform /src/platform
COPY runner /src/runner
RUN uv pip install --no-cache --no-deps /src && rm -rf /src

# Podium listens on every interface (set PODIUM_HOST=127.0.0.1 behind a reverse proxy). Run on the host's
# network (--network host), it reaches the spaces it starts on the host's loopback and keeps them apart;
# on a bridge it must reach them by their container IPs on a network where they reach each other too.
ENV PODIUM_HOST=0.0.0.0 PODIUM_PORT=7860 PODIUM_SPACES_PORT=7861 PODIUM_DATA_DIR=/data \
    PODIUM_BACKEND=docker
# Not root: the docker socket is reached through its group (docker run --group-add).
USER podium
WORKDIR /data
VOLUME /data
EXPOSE 7860 7861
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/api/spaces', timeout=4)"]
ENTRYPOINT ["tini", "--"]
CMD ["podium", "serve"]
