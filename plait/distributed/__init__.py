"""plait.distributed: a scheduler process, worker processes and a futures Client."""

__all__: list[str] = []
