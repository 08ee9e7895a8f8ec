"""What an invoice document says: its labelled fields, and any payment instructions written into it.

The model reads the document too, but payments are checked against what this parser finds, so a
misread (or a document that talks the model into something) cannot change what gets paid.
"""

from __future__ import annotations

import re
from typing import Any

from taskwarden.workflows.text import sentences

INVOICE_NUMBER = re.compile(r"\bINV-\d{3,8}\b", re.IGNORECASE)
PO_NUMBER = re.compile(r"\bPO-\d{3,8}\b", re.IGNORECASE)
_MONEY = re.compile(r"(?:USD|US\$|\$)?\s*(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# field -> the labels a line may start with (first match in the document wins)
_LABELS = {
    "invoice_number": r"invoice\s*(?:number|no\.?|#|id)?",
    "vendor": r"vendor|supplier|from|billed?\s+from",
    "po_number": r"(?:po|p\.o\.|purchase\s+order)\s*(?:number|no\.?|#|ref(?:erence)?)?",
    "total": r"total(?:\s+due)?|amount\s+due|balance\s+due|invoice\s+total",
    "invoice_date": r"(?:invoice\s+)?date(?:\s+of\s+issue)?",
    "due_date": r"due\s+date|payment\s+due",
}
_LINE = {name: re.compile(rf"^\s*(?:{label})\s*[:#]?\s*(?P<value>\S.*)$", re.IGNORECASE)
         for name, label in _LABELS.items()}
_MARKUP = str.maketrans({"*": " ", "|": " ", "#": " ", "_": " ", "`": " "})

_INSTRUCTIONS = re.compile(
    r"\b(iban|swift|bic|routing\s+(number|no)|account\s+(number|no\.?|#)|bank\s+(details|account)|"
    r"wire\s+(transfer|the|to)|new\s+(bank|account|payment\s+details)|remit\s+to\s+account|"
    r"ignore\s+(the|all|any|previous|your)|disregard|instead\s+of|pre-?approved|override|"
    r"do\s+not\s+(check|verify|flag|match|review))\b",
    re.IGNORECASE)


def parse_invoice(text: str) -> dict[str, Any]:
    """The labelled fields of an invoice's text; a field the document does not give is None.

    ``{"invoice_number", "vendor", "po_number", "total", "invoice_date", "due_date"}``; numbers are
    upper-cased (``INV-2041``, ``PO-1001``), the total is a float in dollars.
    """
    found: dict[str, Any] = dict.fromkeys(_LABELS)
    for raw in text.splitlines():
        line = raw.translate(_MARKUP).strip()
        if not line:
            continue
        for name, pattern in _LINE.items():
            if found[name] is not None or not (match := pattern.match(line)):
                continue
            value = _value(name, match.group("value").strip())
            if value is not None:
                found[name] = value
    return found


def payment_instructions(text: str) -> list[str]:
    """Sentences of the document that give payment instructions (bank details, 'ignore the PO'...).

    Payments go only to the vendor's account on file, so an invoice carrying such text is held
    for a human to check: it is how invoice fraud (and prompt injection) usually looks."""
    return [s for s in sentences(text) if _INSTRUCTIONS.search(s)]


def parse_money(text: str) -> float | None:
    """``$2,340.00`` / ``USD 2340`` -> 2340.0; None when there is no amount."""
    match = _MONEY.search(text)
    return round(float(match.group(1).replace(",", "")), 2) if match else None


def _value(name: str, value: str) -> Any:
    if name == "invoice_number":
        match = INVOICE_NUMBER.search(value)
        return match.group(0).upper() if match else None
    if name == "po_number":
        match = PO_NUMBER.search(value)
        return match.group(0).upper() if match else None
    if name == "total":
        return parse_money(value)
    if name in ("invoice_date", "due_date"):
        match = _DATE.search(value)
        return match.group(0) if match else None
    return value.strip(" :") or None
