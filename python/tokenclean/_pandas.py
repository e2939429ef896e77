"""pandas, imported only when a function that returns pandas objects is called.

pandas is an optional extra (``pip install 'tokenclean[pandas]'``): counting and ranking work
with numpy alone, while the token-level summaries and per-token score Series need pandas.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["is_series", "require_pandas"]

INSTALL_HINT = "pip install 'tokenclean[pandas]'"


def require_pandas(feature: str) -> Any:
    """The pandas module, or an ImportError naming ``feature`` and how to install pandas."""
    try:
        return importlib.import_module("pandas")
    except ImportError as err:
        raise ImportError(
            f"{feature} needs pandas, which is not installed; install it with: {INSTALL_HINT}"
        ) from err


def is_series(obj: object) -> bool:
    """Whether ``obj`` is a pandas Series (without importing pandas when it is not loaded)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, pd.Series)
