"""Text normalisation shared by saving and searching, so both sides agree on what matches."""

import unicodedata


def fold(value: str) -> str:
    """Lower-case and strip accents: 'Café Ñandú' → 'cafe nandu'; search is case- and accent-blind."""
    if value.isascii():  # nothing to decompose or strip: the common case, and a bulk load's
        return value.casefold().strip()
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def mask_bsn(bsn: str) -> str:
    """The only form a BSN takes on a page unless someone with the right asks to reveal it."""
    return f"*****{bsn[-4:]}" if bsn else ""
