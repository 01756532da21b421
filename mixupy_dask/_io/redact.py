"""Credentials in URLs, kept out of everything a run shows or records.

A URL may carry credentials: a user and password (``s3://KEY:SECRET@bucket/...``) or a
query string (an Azure SAS token, ``az://c/path?sv=...&sig=...``; a presigned URL).
``redact`` is the one form in which the library shows or records a URL: in errors,
logs, the provenance record's ``source``, the ``_SUCCESS`` manifest and
``AugmentSummary.dst``. ``scrub`` removes them from text the library did not write (a
store's error, a traceback, the cluster's log) given the URLs of the run.

The object stores' fsspec filesystems (s3fs, gcsfs, adlfs) read neither: they take
``KEY:SECRET@bucket`` as the bucket's name and ``?sig=...`` as part of the object's
name, so a run would look for, or write, objects named with the secret.
``refuse_credentials`` fails such a URL first, naming it redacted.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from typing import Any

from ..errors import MixupError

MASK = "***"
#: ``scrub`` replaces the URLs' secret parts this long or longer wherever they appear;
#: shorter ones (``sp=r``, ``sr=b``) are no credential, and would mangle any text.
_SCRUB_MIN = 6


def _split(url: str) -> urllib.parse.SplitResult | None:
    if "://" not in url:  # a local path: no userinfo, and `?` is a file name's
        return None
    try:
        return urllib.parse.urlsplit(url)
    except ValueError:  # e.g. a bad IPv6 host: show it masked whole after the scheme
        return None


def redact(url: Any) -> str:
    """``url`` as shown or recorded: a user and password, and every query value, masked.

    >>> redact("s3://KEY:SECRET@bucket/data?versionId=3&x")
    's3://***@bucket/data?versionId=***&x'
    >>> redact("abfs://container@account.dfs.core.windows.net/data")
    'abfs://container@account.dfs.core.windows.net/data'
    """
    url = str(url)
    parts = _split(url)
    if parts is None:
        if "://" in url and ("@" in url or "?" in url):
            return url.split("://", 1)[0] + "://" + MASK
        return url
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:  # a user alone (adlfs' container@account) is no secret
        netloc = f"{MASK}@{host}"
    query = parts.query
    if query:
        query = "&".join(
            f"{key}={MASK}" if sep else key
            for key, sep, _ in (item.partition("=") for item in query.split("&"))
        )
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))


def secrets(url: Any) -> tuple[str, ...]:
    """The parts of ``url`` that ``redact`` masks, as written and decoded."""
    url = str(url)
    parts = _split(url)
    if parts is None:
        return ()
    found = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        found += [userinfo, userinfo.split(":", 1)[1]]
    if parts.query:
        found.append(parts.query)
        found += [item.partition("=")[2] for item in parts.query.split("&")]
    decoded = [urllib.parse.unquote(s) for s in found]
    return tuple(s for s in dict.fromkeys(found + decoded) if s)


def scrub(text: str, urls: Iterable[Any]) -> str:
    """``text`` with each of ``urls`` redacted, and their secret parts masked wherever
    else they appear (a store's error may quote a bucket name or a path alone)."""
    urls = [str(u) for u in urls]
    for url in urls:
        if url in text:
            text = text.replace(url, redact(url))
    hidden = {s for url in urls for s in secrets(url) if len(s) >= _SCRUB_MIN}
    for secret in sorted(hidden, key=len, reverse=True):  # user:password before password
        text = text.replace(secret, MASK)
    return text


def refuse_credentials(name: str, url: Any, fs: Any, path: str) -> None:
    """Refuse ``url`` when ``fs`` would take its credentials as part of ``path``: the
    run could not use them, and would name objects with them."""
    if getattr(fs, "protocol", None) in ("http", "https", ("http", "https")):
        return  # a presigned URL: the query is the request's, and is what reads it
    if any(secret in path for secret in secrets(url)):
        raise MixupError(
            f"`{name}` carries credentials in its URL, which {type(fs).__name__} does "
            f"not read: {redact(url)}; give them as storage options (or the store's "
            f"environment variables) instead"
        )
