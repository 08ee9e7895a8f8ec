"""``taskwarden memory``: add documents, search, list, forget, and re-embed long-term memory.

Namespaces are written with ``/`` (``episodes/refund_desk``). Each handler returns an exit code:
0 done, 2 bad input or a store that cannot be used (one line on stderr says why).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from taskwarden.memory import knowledge
from taskwarden.memory.embeddings import EmbeddingsUnavailable

PAGE = 1000


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``memory`` command and its actions to an argparse subparsers object."""
    parser = subparsers.add_parser("memory", help="long-term memory: documents, episodes, lessons")
    parser.add_argument("--embed", default="minilm",
                        help="embedding model: minilm (default, offline) or openai:<model>")
    actions = parser.add_subparsers(dest="memory_action", metavar="{add,search,list,forget,reembed}", required=True)
    add = actions.add_parser("add", help="chunk and store Markdown, text or PDF files (or folders of them)")
    add.add_argument("files", nargs="+")
    add.add_argument("--namespace", default="knowledge", help="where to store the chunks (default: knowledge)")
    add.set_defaults(func=add_files)
    search = actions.add_parser("search", help="semantic search")
    search.add_argument("query")
    search.add_argument("--namespace", default="", help="search under this namespace only (e.g. episodes)")
    search.add_argument("--limit", type=int, default=5)
    search.set_defaults(func=search_memory)
    lst = actions.add_parser("list", help="list namespaces, or the items of one namespace")
    lst.add_argument("--namespace", default=None)
    lst.add_argument("--limit", type=int, default=50)
    lst.set_defaults(func=list_memory)
    forget = actions.add_parser("forget", help="delete one item, or everything under a namespace")
    forget.add_argument("namespace")
    forget.add_argument("key", nargs="?")
    forget.set_defaults(func=forget_memory)
    reembed = actions.add_parser("reembed", help="re-embed everything with the model named by --embed")
    reembed.set_defaults(func=reembed_memory)
    return parser


def parse_namespace(text: str) -> tuple[str, ...]:
    """``"episodes/refund_desk"`` (or ``episodes.refund_desk``) -> ``("episodes", "refund_desk")``."""
    return tuple(label for label in text.replace(".", "/").split("/") if label)


def _open(args: argparse.Namespace, indexed: bool = True) -> Any:
    """The default store with ``--embed``; unindexed (no model check) for list, forget and reembed."""
    from taskwarden.memory import ChromaStore, default_store

    return default_store(embed=getattr(args, "embed", "minilm")) if indexed else ChromaStore.from_path()


def _guard(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        from taskwarden.memory.store import EmbeddingMismatchError

        try:
            return handler(args)
        except (EmbeddingMismatchError, EmbeddingsUnavailable, FileNotFoundError, ValueError, RuntimeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    run.__doc__, run.__name__ = handler.__doc__, handler.__name__
    return run


@_guard
def add_files(args: argparse.Namespace) -> int:
    """Chunk and store files; print how many chunks."""
    store = _open(args)
    count = knowledge.add_documents(store, args.files, namespace=parse_namespace(args.namespace))
    print(f"added {count} chunk(s) from {len(args.files)} path(s) to {args.namespace}")
    return 0


@_guard
def search_memory(args: argparse.Namespace) -> int:
    """Print the best matches: score, namespace/key, value."""
    store = _open(args)
    hits = store.search(parse_namespace(args.namespace), query=args.query, limit=args.limit)
    if not hits:
        print("no matches")
    for hit in hits:
        score = "  -  " if hit.score is None else f"{hit.score:.3f}"
        print(f"{score}  {'/'.join(hit.namespace)}/{hit.key}  {_short(hit.value)}")
    return 0


@_guard
def list_memory(args: argparse.Namespace) -> int:
    """Without --namespace: the namespaces; with it: its items."""
    store = _open(args, indexed=False)
    if args.namespace is None:
        spaces = store.list_namespaces(limit=args.limit)
        print("\n".join("/".join(ns) for ns in spaces) if spaces else "memory is empty")
        return 0
    items = store.search(parse_namespace(args.namespace), limit=args.limit)
    if not items:
        print(f"nothing under {args.namespace}")
    for item in items:
        print(f"{'/'.join(item.namespace)}/{item.key}  {_short(item.value)}")
    return 0


@_guard
def forget_memory(args: argparse.Namespace) -> int:
    """Delete one item (namespace and key) or every item under a namespace."""
    from langgraph.store.base import PutOp

    store = _open(args, indexed=False)
    namespace = parse_namespace(args.namespace)
    if not namespace:
        raise ValueError("name a namespace to forget (e.g. episodes/refund_desk)")
    if args.key is not None:
        found = store.get(namespace, args.key) is not None
        store.delete(namespace, args.key)
        print(f"forgot {args.namespace}/{args.key}" if found else f"no item {args.namespace}/{args.key}")
        return 0
    total = 0
    while items := store.search(namespace, limit=PAGE):
        store.batch([PutOp(item.namespace, item.key, None) for item in items])
        total += len(items)
    print(f"forgot {total} item(s) under {args.namespace}")
    return 0


@_guard
def reembed_memory(args: argparse.Namespace) -> int:
    """Re-embed every item with the chosen model and record it on the collection."""
    from taskwarden.memory.reembed import reembed

    store = _open(args, indexed=False)
    count = reembed(store, getattr(args, "embed", "minilm"))
    print(f"re-embedded {count} item(s) with {store.model} ({store.dims} dims)")
    return 0


def _short(value: dict[str, Any], size: int = 100) -> str:
    text = value.get("text") or value.get("goal") or json.dumps(value, ensure_ascii=False)
    text = " ".join(str(text).split())
    return text if len(text) <= size else text[: size - 1] + "…"
