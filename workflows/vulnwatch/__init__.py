"""The vulnerability watch workflow: the weekly vulnerability report from a feed, announced via the outbox."""
