"""Tools shared by the model-layer tests."""

from langchain_core.tools import tool
from pydantic import Field


@tool
def lookup_customer(email: str) -> dict:
    """Look up a customer by email."""
    return {}


@tool
def issue_refund(purchase_id: str, amount: float = Field(gt=0), reason: str = "") -> str:
    """Issue a refund."""
    return "ok"
