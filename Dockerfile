# The connector's daemon in a container: `connector daemon` as an unprivileged user, the state store on a volume,
# the configuration and secrets mounted (or secrets from the environment), healthy while /healthz says so.
#
#   docker build -t backup-billing-connector .
#   docker run -d --name billing --restart on-failure \
#     -v billing-state:/var/lib/backup-billing-connector \
#     -v /etc/backup-billing-connector/connector.toml:/etc/backup-billing-connector/connector.toml:ro \
#     -v /etc/backup-billing-connector/credentials:/run/secrets/connector:ro \
#     backup-billing-connector
#
# connector.toml must set [store] path = "/var/lib/backup-billing-connector/connector-state.db" and
# [daemon] listen = "127.0.0.1:9464" (the health check asks there); secrets as { file = "/run/secrets/connector/…" }
# or { env = "…" } with `docker run -e`. README.md, "Running unattended", says more.

FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY connector ./connector
COPY mappings ./mappings
COPY providers ./providers
RUN python -m venv /opt/connector && /opt/connector/bin/pip install .

FROM python:3.12-slim
# A fixed numeric id: the volume's owner stays the same across rebuilds, and orchestrators can check non-root.
RUN groupadd --system --gid 10001 billing \
    && useradd --system --uid 10001 --gid billing --home-dir /var/lib/backup-billing-connector \
       --shell /usr/sbin/nologin billing \
    && install -d -o billing -g billing -m 0700 /var/lib/backup-billing-connector \
    && install -d -m 0755 /etc/backup-billing-connector
COPY --from=build /opt/connector /opt/connector
ENV PATH=/opt/connector/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CONNECTOR_CONFIG=/etc/backup-billing-connector/connector.toml
WORKDIR /var/lib/backup-billing-connector
VOLUME ["/var/lib/backup-billing-connector"]
USER 10001:10001
# /healthz and /metrics when [daemon] listen is set; a non-loopback listen (to scrape from outside the container)
# needs allow_non_loopback = true.
EXPOSE 9464
# No curl in a slim image: the standard library asks /healthz, and a 503 (HTTPError) or no answer fails the check.
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=5)"]
# SIGTERM (docker stop) lets the current cycle finish: give it time with `docker stop -t 300`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["connector", "daemon"]
CMD ["--interval", "3600"]
