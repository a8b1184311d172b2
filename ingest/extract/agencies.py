"""Recognise the news agencies whose copy outlets run under their own reporters' names.

A by-line "Jane Roe, dpa" or "Max Muster/SDA" credits a person and a wire agency; the agency
is credited after the people, spelt as the page spells it. An agency is neither a person (its
short name fails the tests a name must pass: "dpa" is lower case) nor an outlet that only
stands in when no person is named.
"""

from __future__ import annotations

__all__ = ["is_agency"]

# The agencies' short names and the long forms pages write out, lower-cased. Keystone-SDA and
# "PA Media" are the current names of SDA and PA.
_AGENCIES = frozenset(
    (
        "ap", "associated press", "afp", "agence france-presse", "agence france presse",
        "dpa", "deutsche presse-agentur", "reuters", "thomson reuters", "sda", "keystone-sda",
        "ats", "keystone-ats", "kna", "katholische nachrichten-agentur", "epd",
        "evangelischer pressedienst", "apa", "austria presse agentur", "ansa", "agenzia ansa",
        "efe", "agencia efe", "anadolu", "anadolu ajansı", "anadolu ajansi", "anadolu agency",
        "aa", "pa", "pa media", "press association", "ritzau",
    )
)  # fmt: skip


def is_agency(name: str) -> bool:
    """Tell whether a credit names a wire agency ("dpa", "AFP", "Agencia EFE")."""
    return " ".join(name.lower().split()) in _AGENCIES
