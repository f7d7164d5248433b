"""Shared helpers for the comm tests: run async tests without a plugin; both transports."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import pytest

TRANSPORTS = ["tcp://127.0.0.1:0", "inproc://"]


def run_async(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ``async def test_x(...)`` into a plain test run by ``asyncio.run`` (20 s cap)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        async def main() -> Any:
            return await asyncio.wait_for(fn(*args, **kwargs), 20)

        return asyncio.run(main())

    return wrapper


@pytest.fixture(params=TRANSPORTS, ids=["tcp", "inproc"])
def listen_address(request: pytest.FixtureRequest) -> str:
    return request.param
