"""The maintained opioid list (data/opioids.json) and whole-word matching against free text.

Matching compares word tokens, not substrings: "apomorphine" must not hit "morphine", while
"Tramadol50mg", "oxycodone/APAP" and "Tylenol #3" must hit. Text is case-folded and split into
runs of letters and runs of digits, and a name matches when its tokens appear consecutively.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

CATEGORIES = ("analgesic", "dependence_treatment", "antitussive", "other")

_TOKEN = re.compile(r"[^\W\d_]+|\d+")


def tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(text.casefold()))


def contains_phrase(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    """True when `needle` occurs as consecutive whole tokens of `haystack`."""
    n = len(needle)
    if n == 0:
        return False
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


@dataclass(frozen=True)
class OpioidName:
    name: str  # as written in the list, e.g. "MS Contin"
    generic: str
    category: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class OpioidMatch:
    medication: str  # the patient's entry as given
    matched_name: str
    generic: str
    category: str


@dataclass(frozen=True)
class Catalogue:
    names: tuple[OpioidName, ...]
    not_matched: tuple[str, ...]  # names deliberately left out, kept for the tests and the UI


def parse_catalogue(data: dict) -> Catalogue:
    names: list[OpioidName] = []
    seen: set[tuple[str, ...]] = set()

    def add(name: str, generic: str, category: str) -> None:
        if category not in CATEGORIES:
            raise ValueError(f"opioid list: unknown category {category!r} for {name!r}")
        toks = tokens(name)
        if not toks:
            raise ValueError(f"opioid list: {name!r} has no words to match")
        # "Tylenol #3" and "Tylenol 3" tokenise alike; the first spelling is the one shown.
        if toks not in seen:
            seen.add(toks)
            names.append(OpioidName(name, generic, category, toks))

    for entry in data["opioids"]:
        generic, category = entry["generic"], entry["category"]
        add(generic, generic, category)
        for synonym in entry.get("synonyms", ()):
            add(synonym, generic, category)
        for brand in entry.get("brands", ()):
            if isinstance(brand, str):
                add(brand, generic, category)
            else:
                add(brand["name"], generic, brand.get("category", category))
    not_matched = tuple(item["name"] for item in data.get("not_matched", ()))
    return Catalogue(tuple(names), not_matched)


@cache
def load_catalogue() -> Catalogue:
    text = resources.files("pharmacy.domain").joinpath("data/opioids.json").read_text("utf-8")
    return parse_catalogue(json.loads(text))


def find_opioids(
    medications: Iterable[str], catalogue: Catalogue | None = None
) -> list[OpioidMatch]:
    """Every opioid named in the entries: one match per entry and generic, longest name first.

    The longest name wins so that "Tylenol with codeine #3" reports the most specific name found.
    """
    catalogue = catalogue or load_catalogue()
    by_length = sorted(catalogue.names, key=lambda n: -len(n.tokens))
    matches: list[OpioidMatch] = []
    for medication in medications:
        entry_tokens = tokens(medication)
        generics_seen: set[str] = set()
        for name in by_length:
            if name.generic in generics_seen or not contains_phrase(entry_tokens, name.tokens):
                continue
            generics_seen.add(name.generic)
            matches.append(OpioidMatch(medication, name.name, name.generic, name.category))
    return matches
