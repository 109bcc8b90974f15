"""Keep secrets out of what a run records.

Captured environment variables, command lines and git remotes are stored with
the run and shown in the UI, so anything that looks like a credential is
replaced by ``***`` before it is recorded. Matching is deliberately broad: a
false positive hides a harmless value, a false negative leaks a key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# Substrings of a name (upper-cased, separators removed) that mark it as secret.
_SECRET_WORDS = (
    "TOKEN",
    "KEY",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "PWD",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
    "COOKIE",
    "SESSION",
    "SIGNATURE",
    "CERT",
    "DSN",
)
# Exact names that contain a secret word but are known to be harmless.
_NOT_SECRET = frozenset({"PWD", "OLDPWD", "KEYMAP", "XAUTHORITY"})

# userinfo in a URL: scheme://user:pass@host -> scheme://host
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")


def is_secret_name(name: str) -> bool:
    """Whether a variable or option name looks like it holds a credential.

    ``MY_API_TOKEN``, ``--api-key``, ``db.password`` and ``HF_TOKEN`` are secret;
    ``CUDA_VISIBLE_DEVICES`` is not.
    """
    upper = name.strip().lstrip("-").upper()
    if upper in _NOT_SECRET:
        return False
    squashed = re.sub(r"[^A-Z0-9]", "", upper)
    return any(word in squashed for word in _SECRET_WORDS)


def mask(value: object) -> str:
    """The masked form of a secret value: ``***`` (an empty value stays empty)."""
    if value is None or value == "":
        return ""
    return MASK


def strip_url_credentials(text: str) -> str:
    """Remove ``user:password@`` from every URL in ``text``.

    ``https://user:tok@host/x`` becomes ``https://host/x``; scp-style git
    remotes (``git@github.com:org/repo``) carry no secret and are kept.
    """
    if "@" not in text or "://" not in text:
        return text
    return _URL_USERINFO.sub(lambda m: m.group("scheme"), text)


def clean_remote_url(url: str) -> str:
    """A git remote URL without credentials, query string or fragment."""
    url = strip_url_credentials(url.strip())
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    # tokens sometimes ride in the query string (?access_token=...)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def mask_argv(argv: Iterable[str]) -> list[str]:
    """Mask the values of secret-looking options in a command line.

    Handles ``--api-key X``, ``--api-key=X``, ``password=X`` (Hydra style) and
    URLs with credentials anywhere in the arguments.
    """
    out: list[str] = []
    mask_next = False
    for arg in argv:
        arg = str(arg)
        if mask_next:
            mask_next = False
            if not arg.startswith("--"):
                out.append(mask(arg))
                continue
        if "=" in arg:
            name, _, value = arg.partition("=")
            if name and " " not in name and is_secret_name(name):
                out.append(f"{name}={mask(value)}")
                continue
        elif arg.startswith("-") and len(arg) > 2 and is_secret_name(arg):
            mask_next = True
        out.append(strip_url_credentials(arg))
    return out


_last_secrets: tuple[tuple[tuple[str, str], ...], int, set[str]] | None = None


def secret_values(environ: Mapping[str, str], min_length: int = 6) -> set[str]:
    """Values of every secret-named variable in ``environ`` (long enough to be specific).

    Values that are existing absolute paths (``SSH_AUTH_SOCK``,
    ``GOOGLE_APPLICATION_CREDENTIALS``) name where a secret is, not the secret.
    The last answer is reused while the variables are the same (many runs in one
    process capture the same environment).
    """
    global _last_secrets
    items = tuple(environ.items())
    last = _last_secrets
    if last is not None and last[1] == min_length and last[0] == items:
        return set(last[2])
    found = _secret_values(items, min_length)
    _last_secrets = (items, min_length, found)
    return set(found)


def _secret_values(items: Iterable[tuple[str, str]], min_length: int) -> set[str]:
    return {
        value
        for name, value in items
        if len(value) >= min_length
        and is_secret_name(name)
        and not (os.path.isabs(value) and os.path.exists(value))
    }


def scrub(obj: Any, secrets: set[str]) -> Any:
    """Return ``obj`` (JSON-like) with every occurrence of each secret replaced by ``***``.

    A last line of defence: a token passed as a positional argument, or echoed
    into another variable, is still removed.
    """
    if not secrets:
        return obj
    if isinstance(obj, str):
        for secret in secrets:
            if secret in obj:
                obj = obj.replace(secret, MASK)
        return obj
    if isinstance(obj, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [scrub(v, secrets) for v in obj]
    return obj
