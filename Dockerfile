# The image `argodoctor cronjob manifest` names: slim base, non-root user, the wheel installed.
#   docker build -t ghcr.io/argodoctor/argodoctor:0.1.0 .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY argodoctor ./argodoctor
COPY checks ./checks
COPY remediations ./remediations
RUN pip wheel --no-cache-dir --no-deps -w /wheels . \
 && pip wheel --no-cache-dir -w /wheels /wheels/argodoctor-*.whl

FROM python:3.11-slim
RUN groupadd --gid 10001 argodoctor \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin argodoctor
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels argodoctor && rm -rf /wheels
USER 10001:10001
ENV HOME=/tmp PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
ENTRYPOINT ["argodoctor"]
CMD ["check", "--help"]
