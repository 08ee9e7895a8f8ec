"""What `taskwarden serve` serves: langgraph.json, the generated configuration, the checkpointer, the command."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from langgraph.checkpoint.base import empty_checkpoint

from taskwarden.cli.main import parser
from taskwarden.serve.checkpointer import checkpointer
from taskwarden.serve.config import absolutize, packaged_config, repository_config, served_config
from taskwarden.workflows import SHIPPED

ROOT = Path(__file__).resolve().parents[2]


def file_of(ref: str) -> Path:
    return Path(ref.rpartition(":")[0])


def test_langgraph_json_serves_every_shipped_workflow_with_our_store_checkpointer_and_app():
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert sorted(config["graphs"]) == sorted(SHIPPED)
    assert config["store"] == {"path": "./memory/served.py:store"}
    assert config["checkpointer"] == {"path": "./serve/checkpointer.py:checkpointer"}
    assert config["http"] == {"app": "./serve/app.py:app"}
    for ref in [*config["graphs"].values(), config["store"]["path"], config["checkpointer"]["path"],
                config["http"]["app"]]:
        assert (ROOT / file_of(ref)).is_file(), ref


def test_the_exported_graphs_module_has_one_graph_per_shipped_workflow(home):
    from taskwarden.graph import graphs

    for name in SHIPPED:
        assert getattr(graphs, name).name == name
        assert getattr(graphs, name).checkpointer is None, "the server supplies persistence"


def test_relative_paths_are_made_absolute_and_module_references_kept(tmp_path):
    config = {"dependencies": ["."], "graphs": {"a": "./g.py:graph", "b": {"path": "../h.py:make"}, "c": "pkg.mod:graph"},
              "store": {"path": "./s.py:store"}, "http": {"app": "pkg.app:app"}, "env": ".env"}
    out = absolutize(config, tmp_path / "project")
    assert out["dependencies"] == [str(tmp_path / "project")]
    assert out["graphs"] == {"a": f"{tmp_path}/project/g.py:graph", "b": {"path": f"{tmp_path}/h.py:make"},
                             "c": "pkg.mod:graph"}
    assert out["store"]["path"] == f"{tmp_path}/project/s.py:store"
    assert out["http"]["app"] == "pkg.app:app"
    assert out["env"] == f"{tmp_path}/project/.env"
    assert config["graphs"]["a"] == "./g.py:graph", "the original is left alone"


def test_the_checkout_config_is_served_from_the_data_directory(home):
    assert repository_config() == ROOT / "langgraph.json"
    served, origin = served_config()
    assert served == home / "server" / "langgraph.json" and origin == str(ROOT / "langgraph.json")
    config = json.loads(served.read_text())
    assert config["graphs"]["refunds"] == f"{ROOT}/graph/graphs.py:refunds"
    assert file_of(config["checkpointer"]["path"]).is_file()


def test_a_regular_install_gets_a_generated_config_on_the_package_files():
    config = packaged_config()
    assert config["graphs"] == {name: f"taskwarden.graph.graphs:{name}" for name in SHIPPED}
    assert config["http"] == {"app": "taskwarden.serve.app:app"}
    assert (Path(config["dependencies"][0]) / "taskwarden" / "__init__.py").is_file(), "langgraph dev needs one"
    for section in ("store", "checkpointer"):
        assert file_of(config[section]["path"]).is_file()


def test_serve_defaults_to_loopback_on_port_8123():
    args = parser().parse_args(["serve"])
    assert (args.host, args.port, args.config) == ("127.0.0.1", 8123, None)


def test_the_checkpointer_is_sqlite_in_wal_mode_under_the_data_directory(home):
    async def roundtrip():
        config = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
        async with checkpointer() as saver:
            stored = await saver.aput(config, empty_checkpoint(), {"source": "input", "step": -1}, {})
        async with checkpointer() as saver:  # a new connection: the server restarted
            return stored, await saver.aget_tuple(config)

    stored, found = asyncio.run(roundtrip())
    assert found.config["configurable"]["checkpoint_id"] == stored["configurable"]["checkpoint_id"]
    path = home / "server" / "checkpoints.db"
    assert path.is_file()
    import sqlite3

    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_summary_says_where_everything_is(home, tmp_path):
    from taskwarden.serve.cli import summary

    config = {"graphs": {"refunds": "x"}, "env": {"TASKWARDEN_WEBHOOK_SECRET": "s", "TASKWARDEN_WATCH_REFUNDS": str(tmp_path)}}
    text = "\n".join(summary("http://127.0.0.1:8123", config, home / "server" / "langgraph.json", "the checkout"))
    assert "Taskwarden is serving refunds at http://127.0.0.1:8123" in text
    assert "http://127.0.0.1:8123/docs" in text
    assert "POST http://127.0.0.1:8123/webhooks/refunds    signed (HMAC-SHA256)" in text, "the env of langgraph.json counts"
    assert f"{tmp_path} -> refunds" in text
    assert str(home / "server" / "checkpoints.db") in text and str(home / "memory") in text
