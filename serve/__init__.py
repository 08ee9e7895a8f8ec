"""Serving Taskwarden: the LangGraph server's custom HTTP app, its checkpointer, triggers and `taskwarden serve`."""
