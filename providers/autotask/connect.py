"""Building an Autotask client: the three keys read (and masked from then on), the database's zone asked, and the
connections held to Autotask kept within the integration's thread limit."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from connector.core.errors import ConfigError, DataError
from connector.core.http import HttpSettings, build_client, safe_url
from connector.core.redact import register_secret
from providers.autotask.client import ERRORS, VENDOR, AutotaskClient
from providers.autotask.models import ZoneInformation
from providers.autotask.settings import AutotaskSettings, is_loopback

log = logging.getLogger(__name__)

_KEYS = ("username", "secret", "integration_code")


def zone_base(lookup: httpx.URL, zone: ZoneInformation) -> httpx.URL:
    """The REST root ZoneInformation names (`https://webservicesN.autotask.net/ATServicesRest/`), checked: it
    receives the API secret with every request, so it must be https, with a host and nothing else in it. Plain
    http is accepted only from a lookup that was itself plain http on this machine, for a zone on this machine
    (a local sandbox)."""
    text = (zone.url or "").strip()
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError) as error:
        raise DataError(f"{VENDOR}: ZoneInformation names {text!r} as the zone's URL: not a URL ({error})") from None
    local = lookup.scheme == "http" and is_loopback(lookup.host) and is_loopback(url.host)
    if url.scheme != "https" and not (url.scheme == "http" and local):
        raise DataError(
            f"{VENDOR}: ZoneInformation names {safe_url(url) if url.host else repr(text)} as the zone's URL: not "
            "https, so the API secret would travel in clear text; nothing is sent there"
        )
    if not url.host or url.userinfo or url.query or url.fragment:
        raise DataError(f"{VENDOR}: ZoneInformation names {text!r} as the zone's URL: not a plain https URL")
    return url.copy_with(path=url.path if url.path.endswith("/") else f"{url.path}/")


def build_autotask_client(
    settings: AutotaskSettings,
    http: HttpSettings,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> AutotaskClient:
    """A retrying client under the database's zone: the keys read here (never logged), the zone asked at
    `zone_lookup_url` through the same boundary and headers, then every request sent under the URL it names.

    At most `settings.threads` connections are held (Autotask runs at most 3 threads per endpoint for an
    integration's tracking identifier; a fourth request in flight would wait in its queue, or be refused)."""
    missing = [f"autotask.{key}" for key in _KEYS if getattr(settings, key) is None]
    if missing:
        raise ConfigError(f"{VENDOR}: {', '.join(missing)} not set; needed to call Autotask")
    assert settings.username is not None and settings.secret is not None and settings.integration_code is not None
    username = settings.username.secret("autotask.username").get_secret_value()
    secret = settings.secret.secret("autotask.secret").get_secret_value()
    code = settings.integration_code.secret("autotask.integration_code").get_secret_value()
    for value in (username, secret, code):
        register_secret(value)
    limits = httpx.Limits(max_connections=settings.threads, max_keepalive_connections=settings.threads)
    lookup = httpx.URL(str(settings.zone_lookup_url).rstrip("/") + "/")
    client = build_client(
        http,
        base_url=str(lookup),
        headers={
            "ApiIntegrationCode": code,
            "UserName": username,
            "Secret": secret,
            "Content-Type": "application/json",
        },
        # The limits bind the real transport (build_client's default has httpx's 100) and, through the client,
        # any proxy transport httpx mounts from the environment.
        transport=transport if transport is not None else httpx.HTTPTransport(limits=limits),
        limits=limits,
        sleep=sleep,
        clock=clock,
        errors=ERRORS,
    )
    autotask = AutotaskClient(client, page_size=settings.page_size)
    try:
        zone = autotask.zone_information(username)
        autotask.use_base(zone_base(lookup, zone))
    except BaseException:
        autotask.close()
        raise
    log.info("%s: zone %s, REST root %s", VENDOR, zone.zoneName or "(unnamed)", safe_url(autotask.base_url))
    return autotask
