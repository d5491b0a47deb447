"""People's names from a small Faker pool per locale, unique emails, and the cohorts' names."""
from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable

import numpy as np
from faker import Faker


# Latin-script locales (plus romanised Chinese), weighted like an international UK department.
_LOCALES = (("en_GB", 0.40), ("en_IN", 0.10), ("zh_CN", 0.10), ("en_IE", 0.05), ("de_DE", 0.04),
            ("fr_FR", 0.04), ("es_ES", 0.04), ("it_IT", 0.04), ("pl_PL", 0.04), ("nl_NL", 0.03),
            ("pt_PT", 0.03), ("tr_TR", 0.03), ("yo_NG", 0.03), ("ro_RO", 0.03))
_POOL_SIZE = 500  # first and last names each, over all locales

GROUP_KIND = "MG"  # the kind whose cohorts allow students to apply in groups
COHORT_KINDS = (("MEng individual projects", "ME"), ("MSc group projects", GROUP_KIND),
                 ("BSc final-year projects", "BF"), ("MSc individual projects", "MI"),
                 ("MRes research projects", "MR"))
_ACADEMIC_YEAR = 2026  # fixed, not today's: names are part of the compared content


def cohort_names(cohorts: int) -> list[str]:
    """The names `seed` gives its cohorts, e.g. 'MEng individual projects 2026/27'."""
    names = []
    for i in range(cohorts):
        kind, _ = COHORT_KINDS[i % len(COHORT_KINDS)]
        year = _ACADEMIC_YEAR - i // len(COHORT_KINDS)
        names.append(f"{kind} {year}/{(year + 1) % 100:02d}")
    return names


_TRANSLIT = str.maketrans({"ı": "i", "ł": "l", "Ł": "l", "ß": "ss", "ø": "o", "æ": "ae", "đ": "d", "ð": "d",
                           "þ": "th", "œ": "oe"})


def _slug(name: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", name.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_.lower() if "a" <= ch <= "z")


@functools.lru_cache(maxsize=8)
def name_pool(seed: int) -> tuple[tuple[str, ...], tuple[float, ...], tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]:
    """Per locale, distinct first and last names: people are drawn from one locale so names stay plausible."""
    locales, weights, pools = [], [], []
    for i, (locale, weight) in enumerate(_LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + i)
        want = max(8, round(_POOL_SIZE * weight))
        if locale == "zh_CN":
            first_fn, last_fn = fake.first_romanized_name, fake.last_romanized_name
        else:
            first_fn, last_fn = fake.first_name, fake.last_name
        firsts = tuple(n for n in dict.fromkeys(first_fn() for _ in range(want)) if _slug(n))
        lasts = tuple(n for n in dict.fromkeys(last_fn() for _ in range(want)) if _slug(n))
        locales.append(locale)
        weights.append(weight)
        pools.append((firsts, lasts))
    total = sum(weights)
    return tuple(locales), tuple(w / total for w in weights), tuple(pools)


@functools.lru_cache(maxsize=8)
def company_names(seed: int) -> tuple[str, ...]:
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    return tuple(dict.fromkeys(fake.company() for _ in range(40)))


class People:
    """Draws names from the pool and hands out unique lowercase emails."""

    def __init__(self, seed: int, rng: np.random.Generator, taken: Iterable[str]):
        _, weights, self._pools = name_pool(seed)
        self._weights = np.array(weights)
        self._rng = rng
        self._taken = set(taken)

    def names(self, n: int) -> list[tuple[str, str]]:
        locale = self._rng.choice(len(self._pools), size=n, p=self._weights)
        u_first, u_last = self._rng.random(n), self._rng.random(n)
        out = []
        for loc, a, b in zip(locale.tolist(), u_first.tolist(), u_last.tolist()):
            firsts, lasts = self._pools[loc]
            out.append((firsts[int(a * len(firsts))], lasts[int(b * len(lasts))]))
        return out

    def take(self, email: str) -> None:
        """Keep `email` out of the addresses this hands out (an account that exists already)."""
        self._taken.add(email)

    def email(self, first: str, last: str, domain: str, *, initial: bool = False) -> str:
        head = _slug(first)[:1] if initial else _slug(first)
        base = f"{head}.{_slug(last)}"
        candidate, n = f"{base}@{domain}", 1
        while candidate in self._taken:
            n += 1
            candidate = f"{base}{n}@{domain}"
        self._taken.add(candidate)
        return candidate
