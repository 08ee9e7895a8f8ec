"""Test helpers for workflows: a scripted fake chat model that records what it was asked."""

from taskwarden.testing.scripted import Call, ScriptedChatModel, ScriptExhausted, Step, call, fail, say, structured

__all__ = ["Call", "ScriptedChatModel", "ScriptExhausted", "Step", "call", "fail", "say", "structured"]
