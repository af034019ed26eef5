"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 128
CONTEXT_WORDS = ("naltrexone", "pharmacy", "compounding", "password")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def hasher(params: dict | None = None) -> PasswordHasher:
    return PasswordHasher(**(params or {}))


def hash_password(password: str, params: dict | None = None) -> str:
    return hasher(params).hash(password)


def verify_password(stored_hash: str, password: str, params: dict | None = None) -> bool:
    try:
        return hasher(params).verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def policy_problems(password: str, context: tuple[str, ...] = ()) -> list[str]:
    """Reasons the password is unacceptable; empty when it is fine."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in _common_passwords():
        problems.append("is on the list of commonly used passwords")
    for word in (*CONTEXT_WORDS, *context):
        word = (word or "").strip().lower()
        if len(word) >= 4 and word in lowered:
            problems.append(f"must not contain '{word}'")
            break
    if len(set(password)) < 4:
        problems.append("uses too few different characters")
    return problems
