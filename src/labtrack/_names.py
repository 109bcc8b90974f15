"""Readable run names such as ``brisk-falcon-4821``."""

from __future__ import annotations

import os

ADJECTIVES = (
    "amber azure bold brave breezy bright brisk calm clever cosmic crimson crisp dapper daring "
    "dashing eager earnest fancy fearless fiery fluent frosty gentle gilded glad golden graceful "
    "hardy hazy honest humble icy jolly keen kind lively lucid lunar mellow merry misty nimble "
    "noble polar proud quiet rapid rosy royal rustic sage scarlet serene sharp shiny silent "
    "silver sleek smooth snowy solar spry stellar stoic sunny swift tidy tranquil vivid warm "
    "wild wise witty young zesty"
).split()
NOUNS = (
    "aurora badger beacon bison breeze brook canyon cedar comet coral cosmos crane dawn delta "
    "dune eagle ember falcon fern fjord forest galaxy glacier grove harbor hawk heron horizon "
    "island jaguar lagoon lake lantern lark lynx maple meadow mesa meteor moon nebula oak ocean "
    "orbit otter owl panda pine planet pond prairie quasar raven reef ridge river robin sky "
    "sparrow spruce star storm summit sun thunder tide tiger valley willow wind wolf"
).split()

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"  # not `string`: ~1 ms to import


def _below(n: int) -> int:
    """A uniform random integer in [0, n) from the OS's generator (as ``secrets.randbelow``,
    without importing :mod:`secrets` and :mod:`hmac`, ~3 ms, into every short script)."""
    bits = n.bit_length()
    while True:
        value = int.from_bytes(os.urandom((bits + 7) // 8), "big") >> (-bits % 8)
        if value < n:
            return value


def new_run_id(length: int = 8) -> str:
    """A short random id: 8 characters of [a-z0-9] (41 bits).

    Bytes below 252 (7 x 36) map uniformly onto the alphabet; drawn 16 at a time
    (one ``getrandom`` call where a character each took ~1.8).
    """
    size = len(_ID_ALPHABET)
    limit = 256 - 256 % size
    out: list[str] = []
    while len(out) < length:
        out.extend(_ID_ALPHABET[b % size] for b in os.urandom(2 * length) if b < limit)
    return "".join(out[:length])


def new_run_name() -> str:
    """adjective-noun-NNNN; the store adds a suffix in the rare case of a clash."""
    return f"{ADJECTIVES[_below(len(ADJECTIVES))]}-{NOUNS[_below(len(NOUNS))]}-{_below(10000)}"


def valid_run_id(run_id: str) -> bool:
    return 1 <= len(run_id) <= 64 and all(c.isalnum() or c in "-_." for c in run_id) \
        and not run_id.startswith(".")
