"""The refund desk workflow."""
