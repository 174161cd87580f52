def version() -> str:
    """The version of the Rust library behind the module."""

def parse_model_ref(spec: str) -> tuple[str, str, str]:
    """Parse ``name@3``, ``name@champion`` or ``name@latest`` into ``(name, kind, value)``.

    Raises ``ValueError`` naming the bad input.
    """
