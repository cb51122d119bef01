"""PromptEVC: prompt-controlled emotional voice conversion."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from promptevc.api import Converter

__all__ = ["Converter", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy: `import promptevc` (and `promptevc --help`) must not pay for torch.
    if name == "Converter":
        from promptevc.api import Converter

        return Converter
    raise AttributeError(f"module 'promptevc' has no attribute {name!r}")
