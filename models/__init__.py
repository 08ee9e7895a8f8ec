"""Chat models for Taskwarden: one spec string in, one LangChain chat model out.

``init_chat_model("local")`` serves the embedded Qwen2.5-Coder-1.5B through a
managed llama.cpp server; see ``docs/local-model.md``.
"""

from taskwarden.models.spec import init_chat_model, model_name_of

__all__ = ["init_chat_model", "model_name_of"]
