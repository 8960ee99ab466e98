"""A relation as a vCard 3.0 (RFC 2426): what a phone or mail program imports of a person."""

from __future__ import annotations

from relations.models import Address, Relation


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued on lines that start with a space (RFC 2425 §5.8.1)."""
    out: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not out else 74
        if len((current + char).encode()) > limit:
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return "\r\n ".join(out)


def vcard(relation: Relation) -> str:
    family = " ".join(p for p in (relation.name_prefix, relation.last_name) if p)
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "N:" + ";".join(_escape(p) for p in (family, relation.first_name, "", "", "")),
        "FN:" + _escape(relation.display_name),
    ]
    if relation.email:
        lines.append("EMAIL;TYPE=INTERNET:" + _escape(relation.email))
    if relation.phone:
        lines.append("TEL;TYPE=VOICE:" + _escape(relation.phone))
    if relation.mobile:
        lines.append("TEL;TYPE=CELL:" + _escape(relation.mobile))
    address_type = {Address.Type.VISITING: "HOME", Address.Type.POSTAL: "POSTAL"}
    for address in relation.addresses.filter(is_default=True).order_by("type"):
        kind = address_type.get(Address.Type(address.type), "OTHER")
        parts = ("", "", address.street_line, address.city, "", address.postcode, address.country)
        lines.append(f"ADR;TYPE={kind}:" + ";".join(_escape(p) for p in parts))
    if relation.website:
        lines.append("URL:" + _escape(relation.website))
    lines.append("END:VCARD")
    return "".join(_fold(line) + "\r\n" for line in lines)
