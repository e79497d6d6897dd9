"""Built-in job kinds. Importing this package registers them."""
import importlib

for _name in ("diagnostics", "documents", "mailings", "webhooks", "ledger"):
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{_name}":
            raise
