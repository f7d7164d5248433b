"""Executors that run a graph on one machine: sync, threads, processes."""

from .execute import execute, get_processes, get_sync, get_threads

__all__ = ["execute", "get_sync", "get_threads", "get_processes"]
