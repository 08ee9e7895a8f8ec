"""workflows/refunds."""
