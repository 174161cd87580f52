"""The AI factory as an embeddable library.

The Python SDK grows with the Rust crates; today it exposes the library version and the
model-reference parser.
"""

from ._mlops import parse_model_ref, version

__version__ = version()
__all__ = ["parse_model_ref", "version", "__version__"]
