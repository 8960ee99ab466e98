"""The Dutch catalogue is complete, not guessed (no fuzzy), compiled, and keeps every placeholder."""

import ast
import gettext
import re
from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "nl" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def parse_po(text: str) -> list[dict]:
    """Entries as {"flags", "msgid", "msgid_plural", "msgstr": [forms]}; enough of the format for us."""
    entries: list[dict] = []
    entry: dict | None = None
    key: tuple[str, int | None] | None = None
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if entry and "msgid" in entry:
                entries.append(entry)
            entry, key = None, None
            continue
        entry = entry if entry is not None else {"flags": "", "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"] = line
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            assert key is not None, f"a continued string before any keyword: {line!r}"
            if key[0] == "msgstr":
                entry["msgstr"][key[1]] += value
            else:
                entry[key[0]] += value
        else:
            name, _, rest = line.partition(" ")
            value = ast.literal_eval(rest)
            if name.startswith("msgstr"):
                index = int(name[7:-1]) if "[" in name else 0
                entry["msgstr"][index] = value
                key = ("msgstr", index)
            else:
                entry[name] = value
                key = (name, None)
    return [e for e in entries if e["msgid"]]


ENTRIES = parse_po(PO.read_text(encoding="utf-8"))


def test_the_catalogue_has_entries():
    assert len(ENTRIES) > 300


def test_nothing_is_fuzzy_or_untranslated():
    assert [e["msgid"] for e in ENTRIES if "fuzzy" in e["flags"]] == []
    assert [e["msgid"] for e in ENTRIES if not all(e["msgstr"].values())] == []


def test_translations_keep_their_placeholders():
    wrong = [
        e["msgid"]
        for e in ENTRIES
        for form in e["msgstr"].values()
        if set(PLACEHOLDER.findall(e["msgid"])) - {"%(counter)s"}
        != set(PLACEHOLDER.findall(form)) - {"%(counter)s"}
    ]
    assert wrong == []


def test_the_compiled_catalogue_matches_the_source():
    """A .po edit without `make messages` would leave Dutch users the old text."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    def compiled_text(entry: dict) -> str:
        # An entry with a context (the team roles' "Tax advisor") is looked up in that context.
        if "msgctxt" in entry:
            return compiled.pgettext(entry["msgctxt"], entry["msgid"])
        return compiled.gettext(entry["msgid"])

    stale = [
        e["msgid"]
        for e in ENTRIES
        if "msgid_plural" not in e and compiled_text(e) != e["msgstr"][0]
    ]
    assert stale == []
