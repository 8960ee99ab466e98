"""Look-up adapters: one protocol per kind of public register (lookups.adapters.base)."""
