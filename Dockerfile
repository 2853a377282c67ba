# The image `argodoctor cronjob manifest` and the Helm chart name: argodoctor in a venv on a slim Python
# base, no compilers, no pip, no caches; runs as uid 10001 with a read-only root filesystem (HOME=/tmp).
#   docker build -t ghcr.io/argodoctor/argodoctor:0.1.0 .
#   buildah bud --isolation chroot -t ghcr.io/argodoctor/argodoctor:0.1.0 .
# BASE_IMAGE: any image with python3 (3.10+) and its venv module, e.g. Debian's python3-venv. The default is
# python:3.12-slim pinned by the digest of its multi-arch index (as published for that tag and recorded
# in public Dockerfiles that pin it; no registry is reachable where this was written, so re-resolve it with
# `docker buildx imagetools inspect python:3.12-slim` when bumping): a moved tag cannot change the image.
# The dependencies come from requirements.lock, every file hash-pinned (pip --require-hashes), and
# argodoctor itself is built from this source with nothing fetched (--no-deps --no-index).
# A private CA for pip (a proxy that re-signs TLS): pass it as the secret `pip-ca`,
#   docker build --secret id=pip-ca,src=/etc/ssl/certs/ca-certificates.crt .
#   buildah bud --secret id=pip-ca,src=/etc/ssl/certs/ca-certificates.crt .
ARG BASE_IMAGE=docker.io/library/python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

FROM ${BASE_IMAGE} AS build
WORKDIR /src
# The locked dependencies first (their own layer: a source change does not download them again), wheels
# only, each file's SHA-256 checked against the lock.
COPY requirements.lock ./
RUN --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
 && python3 -m venv /opt/argodoctor \
 && /opt/argodoctor/bin/python -m pip install --no-cache-dir --disable-pip-version-check --no-compile \
      --require-hashes --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY docs/checks.md docs/report.schema.json ./docs/
COPY argodoctor ./argodoctor
COPY checks ./checks
COPY remediations ./remediations
# kubernetes/aio: the client's asyncio twin (half its size), which argodoctor never imports.
# Byte-code compiled once here, checked by hash only: the read-only root filesystem gets no new .pyc.
RUN /opt/argodoctor/bin/python -m pip install --no-cache-dir --disable-pip-version-check --no-compile \
      --no-deps --no-build-isolation --no-index . \
 && /opt/argodoctor/bin/python -m pip uninstall -y -q --disable-pip-version-check setuptools pip \
 && rm -rf /opt/argodoctor/lib/python3*/site-packages/kubernetes/aio \
 && /opt/argodoctor/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/argodoctor/lib

FROM ${BASE_IMAGE}
# The user without useradd (a minimal Debian base has no passwd package).
RUN echo 'argodoctor:x:10001:10001:argodoctor:/tmp:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'argodoctor:x:10001:' >> /etc/group
COPY --from=build /opt/argodoctor /opt/argodoctor
ENV PATH=/opt/argodoctor/bin:/usr/local/bin:/usr/bin:/bin HOME=/tmp PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["argodoctor"]
CMD ["check", "--help"]
