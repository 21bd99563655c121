"""convguard: guards analytics SQL with a static guard and a conformance kit.

The public API is what ``__all__`` lists; everything in a module whose name starts with ``_`` is
private. Heavy parts (sqlglot, psycopg, the kit) load on first use, so ``import convguard`` stays
cheap for the pre-commit hook and the pytest plugin.

Example:
    >>> import convguard
    >>> result = convguard.check_source("q.sql", "SELECT 1")
    >>> result.diagnostics
    ()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convguard._errors import (
    BindingError,
    ConfigError,
    ConvguardError,
    DatabaseError,
    ExtractionError,
    InputError,
    QueryFailed,
    ScenarioError,
    ScenarioErrors,
    SchemaError,
    SelectorError,
)
from convguard._model import (
    Diagnostic,
    ExtractedQuery,
    ExtractionResult,
    Placeholder,
    Position,
    Span,
    UnsafeCall,
)

if TYPE_CHECKING:
    from convguard._check import CheckResult, check_paths, check_source
    from convguard._config import Config, find_config
    from convguard._schema import Column, EnumType, Index, Schema, Table
    from convguard.extract import extract_source

__version__ = "0.1.0"

# Public name -> module that defines it; imported on first attribute access.
_LAZY = {
    "CheckResult": "convguard._check",
    "check_paths": "convguard._check",
    "check_source": "convguard._check",
    "Config": "convguard._config",
    "find_config": "convguard._config",
    "Schema": "convguard._schema",
    "Table": "convguard._schema",
    "Column": "convguard._schema",
    "EnumType": "convguard._schema",
    "Index": "convguard._schema",
    "extract_source": "convguard.extract",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'convguard' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


__all__ = [
    "BindingError",
    "CheckResult",
    "Column",
    "Config",
    "ConfigError",
    "ConvguardError",
    "DatabaseError",
    "Diagnostic",
    "EnumType",
    "ExtractedQuery",
    "ExtractionError",
    "ExtractionResult",
    "Index",
    "InputError",
    "Placeholder",
    "Position",
    "QueryFailed",
    "ScenarioError",
    "ScenarioErrors",
    "Schema",
    "SchemaError",
    "SelectorError",
    "Span",
    "Table",
    "UnsafeCall",
    "__version__",
    "check_paths",
    "check_source",
    "extract_source",
    "find_config",
]
