"""The proxy and CA-bundle variables of the environment, read the way requests reads them.

Both HTTP backends read them once per connection pool (a requests session,
an httpx client), not again on every request; ``.netrc`` is never read: the
credentials are the ones the backend was given.
"""

from __future__ import annotations

import os
import ssl

import requests.utils


def proxies(api_url: str) -> dict[str, str]:
    """The proxies for ``api_url`` (``HTTPS_PROXY`` and the like, less ``NO_PROXY``'s hosts)."""
    return requests.utils.get_environ_proxies(api_url)


def proxy_for(api_url: str) -> str | None:
    """The one proxy a request to ``api_url`` goes through, if any."""
    return requests.utils.select_proxy(api_url, proxies(api_url))


def ca_bundle() -> str | bool:
    """The CA bundle to verify the API's certificate with: a file named by the environment, or ``True`` (certifi's)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


def ssl_context() -> ssl.SSLContext | bool:
    """:func:`ca_bundle` as httpx takes it (a file name as an ``SSLContext``)."""
    bundle = ca_bundle()
    return bundle if isinstance(bundle, bool) else ssl.create_default_context(cafile=bundle)
