"""Taskwarden: autonomous workflows on LangGraph."""

__version__ = "0.1.0"
