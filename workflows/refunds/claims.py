"""What a reply to a customer may claim about refunds: only what the refunds table shows.

A small model writing a reply tends to promise the refund the customer asked for, even when the
lookups failed or the policy refused it. `refund_claims` finds the sentences of a reply that say a
refund was (or will be) made, and the refund ids it cites, so `draft_reply` can refuse a reply whose
claims the database does not support.
"""

from __future__ import annotations

import re

from taskwarden.workflows.text import sentences

REFUND_ID = re.compile(r"\bR\d{3,}\b")
"""A refund id (ours look like R1002); longer ones too, since a model invents them (measured: R12345)."""
PURCHASE_ID = re.compile(r"\bP\d{4}\b")
"""A purchase id (like P1001)."""
_REFUND_WORD = re.compile(r"\b(refund\w*|reimburs\w*|money back|credited)\b", re.IGNORECASE)
_AFFIRMATIVE = re.compile(
    r"\b(has been|have been|was|were|is being|is|are|will be|'s been)\s+(issued|processed|approved|initiated|"
    r"refunded|credited|completed|done|sent|on (its|the) way|under way|underway)\b"
    r"|\b(we|i)\s*(have|'ve)?\s+(issued|processed|approved|refunded|initiated|credited|sent)\b"
    r"|\b(we|i)\s*(are going to|am going to)\s+(process|issue|refund|approve|initiate|credit|send)\b"
    r"|\byou (will|'ll|should) (receive|get|see)\b"
    r"|\b(refund|reimbursement) (of|for) \$?\d"
    r"|\b(refund|reimbursement) (amount|id|number) (is|was|of)\b"
    r"|\b(will|'ll|shall) (process|issue|refund|approve|initiate|credit|send)\b"
    r"|\breceived (a|your|the) (refund|reimbursement)\b(?! request)"
    r"|\b(refunded|reimbursed|credited)\s+(P\d|\$\s?\d|\d|it\b|them\b|you\b|your\b|in full\b)",
    re.IGNORECASE)
_CLAUSE = re.compile(r",?\s+\b(?:but|however|although|though|yet|while)\b|;|:(?=\s)", re.IGNORECASE)
"""Where a sentence turns: a negation after it does not take back what came before (measured: "We have received
a refund of $100 for order P1001, but no customer account uses the e-mail zoe@example.com.")."""
_NEGATION = re.compile(r"\b(not|no|cannot|unable|never)\b|n't\b", re.IGNORECASE)
NEGATION_REACH = 4
"""A negation takes back a claim only within this many words before it (measured: "We have approved the refund of
P1002 immediately, and no review is needed." passed as negated by its 'no')."""
_CONDITION = re.compile(r"\b(if|unless|once|when)\b", re.IGNORECASE)
"""A condition earlier in the clause makes a promise conditional ('If the warehouse finds a fault, we will ...')."""
_GENERAL_SUBJECT = re.compile(r"\W*(?:(?:a|an|any|every|each)\s+(?:purchase|order|refund|item)|refunds|purchases|orders|"
                              r"items)\b", re.IGNORECASE)
_PRESENT = re.compile(r"(is|are)\s+(?!being\b)", re.IGNORECASE)
"""Present simple, the tense of a rule; 'is being processed' is about this refund, now."""
_PARTICULAR = re.compile(rf"\byou(r|rs)?\b|{REFUND_ID.pattern}|{PURCHASE_ID.pattern}|\bof \$?\d", re.IGNORECASE)
"""A clause about refunds in general states the policy, it claims nothing: a general subject (a purchase, refunds)
and a present-tense affirmation, with no 'you', 'your', id or amount ('of $79') in the clause. Measured: the writer copied `issue_refund`'s
refusal "a purchase is refunded only to the customer who made it" into a denial, and the reply was refused 11 times."""


_DENIAL = re.compile(
    r"\bno refunds?\b(?!\s+(?:request|policy|window))"
    r"|\b(?:not|n't|never)\s+(?:yet\s+)?(?:been\s+)?(?:issued|processed|approved|made|given|granted|refunded|credited)\b"
    r"|\b(?:cannot|can't|could not|couldn't|unable to|won't|will not|did not|didn't|do not|don't|are not able to)\s+"
    r"(?:issue|process|approve|make|give|grant|refund|offer)\b",
    re.IGNORECASE)
_EARLIER = re.compile(r"\b(?:already|previously|earlier|before|prior|last (?:week|month|time))\b", re.IGNORECASE)
"""A denial that says the purchase was refunded before ('not refunded again: it was already refunded') is true."""


def refund_denials(message: str) -> list[str]:
    """The clauses of `message` (split where a sentence turns) that say no refund was made, and not because one was
    made before: 'We have not issued a refund because ...', 'no refund was issued for P2001'."""
    return [c.strip() for s in sentences(message) for c in _CLAUSE.split(s)
            if c.strip() and _REFUND_WORD.search(c) and _DENIAL.search(c) and not _EARLIER.search(s)]


def refund_claims(message: str) -> list[str]:
    """The sentences of `message` that say a refund was or will be made (in a clause that is not negated)."""
    return [s for s in sentences(message) if _claiming_clauses(s)]


def claimed_purchase_ids(message: str) -> list[str]:
    """Purchase ids (like P1001) that a claiming clause of `message` names: the purchases it says were refunded.

    Measured: "We have refunded P1001 and P2001, totaling $158.00." after only P1001 was refunded."""
    return list(dict.fromkeys(p for s in sentences(message) for c in _claiming_clauses(s)
                              for p in PURCHASE_ID.findall(c)))



def _claiming_clauses(sentence: str) -> list[str]:
    """The clauses of `sentence` (split where it turns: 'but', 'however', ';') that claim a refund."""
    return [c for c in _CLAUSE.split(sentence) if c.strip() and _claims(c)]


def _claims(clause: str) -> bool:
    """A clause with a refund word and an affirmation that no nearby negation ('no refund was issued') takes back."""
    if not _REFUND_WORD.search(clause):
        return False
    for said in _AFFIRMATIVE.finditer(clause):
        before = clause[: said.start()]
        near = " ".join(before.split()[-NEGATION_REACH:])
        if not _NEGATION.search(f"{near} {said.group(0)}") and not _CONDITION.search(before) and \
                not _states_policy(clause, said.group(0)):
            return True
    return False


def _states_policy(clause: str, affirmation: str) -> bool:
    """Whether the affirmation is the policy's, not a claim: see `_GENERAL_SUBJECT`."""
    return bool(_GENERAL_SUBJECT.match(clause) and _PRESENT.match(affirmation) and not _PARTICULAR.search(clause))


def cited_refund_ids(message: str) -> list[str]:
    """Refund ids (like R1002) the message mentions."""
    return list(dict.fromkeys(REFUND_ID.findall(message)))
