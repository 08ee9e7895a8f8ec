"""Built-in tool kits: each kit is configured once (a root, a database, an allowlist, limits) and
returns its `ToolSpec`s from `tools()`, with honest risks and scopes.

```python
registry = ToolRegistry.of([*FilesKit(root=workspace).tools(), *SqlKit(path=db).tools()])
```
"""

from taskwarden.tools.kits.files import FilesKit
from taskwarden.tools.kits.http import HostPattern, HttpKit
from taskwarden.tools.kits.outbox import Outbox, OutboxMessage
from taskwarden.tools.kits.python_sandbox import PythonSandbox, SandboxResult
from taskwarden.tools.kits.sql import SqlKit

__all__ = ["FilesKit", "HostPattern", "HttpKit", "Outbox", "OutboxMessage", "PythonSandbox", "SandboxResult", "SqlKit"]
