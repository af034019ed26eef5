"""Pure domain rules: standard library and Decimal only (no Flask, no SQLAlchemy)."""
