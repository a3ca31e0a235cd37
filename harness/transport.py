"""The wire under `harness.client.ApiClient`: a urllib3 connection pool kept alive to one target, and nothing else.

requests' Session and adapters, which the client used to send through, add cookies, redirects, auth hooks, a
second parse and percent-encoding of every URL and a `requests.Response` per answer; none of it is used here, and
on the harness's request path it cost more CPU than sending the request. The client still prepares each request
with requests' `PreparedRequest` (header validation, body length) and builds a `requests.Response` only when a
tool asks for one (`to_requests_response`, for Schemathesis).

Proxies and CA bundles are read from the environment the way requests reads them (``HTTPS_PROXY``/``HTTP_PROXY``/
``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``), once per target.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_environ_proxies, select_proxy
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError, ReadTimeoutError

# Failures after which the request may simply not have arrived (or its answer was lost): worth another attempt.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (NewConnectionError, ConnectTimeoutError, ReadTimeoutError,
                                                 ProtocolError, ConnectionError, TimeoutError)
# Everything urllib3 or the socket layer raises for a request that got no HTTP answer.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (urllib3.exceptions.HTTPError, OSError)


class Transport:
    """Send prepared requests to the target at `base_url` over kept-alive connections.

    :param base_url: the target's root (``http://127.0.0.1:12111``, ``https://staging.example.com/api``).
    :param timeout: seconds to wait for the connection, and then between bytes of the answer.
    :param pool_size: connections kept open (a worker sends one request at a time; more serve threads).
    """

    def __init__(self, base_url: str, timeout: float, pool_size: int = 4) -> None:
        proxies = get_environ_proxies(base_url)
        proxy = select_proxy(base_url, proxies) if proxies else None
        options: dict = {"retries": False, "timeout": urllib3.Timeout(connect=timeout, read=timeout),
                         "maxsize": pool_size, "block": False}
        if urlsplit(base_url).scheme == "https":
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or DEFAULT_CA_BUNDLE_PATH
            key = "ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"
            options.update({"cert_reqs": "CERT_REQUIRED", key: bundle})
        self._manager: urllib3.PoolManager = (urllib3.ProxyManager(proxy, **options) if proxy
                                              else urllib3.PoolManager(**options))
        # Without a proxy every request goes to one pool: the request target alone is sent, no URL is parsed again.
        self._pool = None if proxy else self._manager.connection_from_url(base_url)
        root = urlsplit(requests.Request("GET", base_url).prepare().url)  # as prepared URLs spell it (host, IDNA)
        self._origin = f"{root.scheme}://{root.netloc}"

    def _target(self, url: str) -> str:
        """The request target (path and query) of a prepared URL to this target."""
        if url.startswith(self._origin):
            return url[len(self._origin):] or "/"
        parts = urlsplit(url)
        return f"{parts.path or '/'}{'?' if parts.query else ''}{parts.query}"

    def send(self, method: str, url: str, body: bytes | None,
             headers: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        """One attempt: the answer with its body read (and decoded from gzip/deflate), or the exception urllib3 or
        the socket raised (one of `TRANSPORT_ERRORS`). Redirects are answers, never followed."""
        if self._pool is not None:
            return self._pool.urlopen(method, self._target(url), body=body, headers=dict(headers),
                                      redirect=False, assert_same_host=False, retries=False,
                                      preload_content=True, decode_content=True)
        return self._manager.urlopen(method, url, body=body, headers=dict(headers), redirect=False, retries=False,
                                     preload_content=True, decode_content=True)

    def close(self) -> None:
        """Close every pooled connection."""
        self._manager.clear()


_BUILDER = HTTPAdapter()


def to_requests_response(prepared: requests.PreparedRequest, answer: urllib3.BaseHTTPResponse) -> requests.Response:
    """The `requests.Response` requests would have built for `answer` (as its adapter builds it), body included."""
    response = _BUILDER.build_response(prepared, answer)
    response._content = answer.data  # already read: preload_content
    response._content_consumed = True
    return response
