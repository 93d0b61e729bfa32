"""What a submission may contain, as data: codes, indicators, dimensions, rules."""

from schemas.registry import Registry, load_registry

__all__ = ["Registry", "load_registry"]
