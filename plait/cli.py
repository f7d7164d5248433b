"""The ``plait`` command: one click group whose subcommands are imported on first use.

Subcommands that live in other modules are named in :data:`COMMANDS` as
``"module:attribute"`` and imported only when invoked (or listed by ``--help``), so
``plait --version`` and ``plait demo`` never pay for the distributed machinery. A new one
is a ``click.Command`` in its own module plus one line in that table, e.g.
``"scheduler": "plait.distributed.cli:scheduler"``. Small commands defined here (``demo``)
import what they need inside their body.

Run as ``plait ...`` (the console script) or ``python -m plait.cli ...``.
"""

from __future__ import annotations

import importlib
import sys

import click

from . import __version__

__all__ = ["main", "COMMANDS"]

#: subcommand name -> "module:attribute" of its ``click.Command``, imported lazily.
COMMANDS: dict[str, str] = {
    "scheduler": "plait.distributed.cli:scheduler",
    "worker": "plait.distributed.cli:worker",
}


class LazyGroup(click.Group):
    """A click group that imports the subcommands of :data:`COMMANDS` on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None or name not in COMMANDS:
            return command
        module_name, _, attr = COMMANDS[name].partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(
                f"plait.cli.COMMANDS[{name!r}] = {COMMANDS[name]!r} is a "
                f"{type(command).__name__}, not a click.Command"
            )
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="plait",
                      message="%(prog)s %(version)s")
def main() -> None:
    """plait: parallel computing with task graphs."""


@main.command()
@click.option("--keep-open", is_flag=True,
              help="After the tour, keep what it started running until Ctrl-C.")
@click.option("--quick", is_flag=True,
              help="Smaller sizes: finishes in a few seconds (used by the tests).")
def demo(keep_open: bool, quick: bool) -> None:
    """Tour what plait can do on this machine, with timings, on generated data."""
    from .demo import run_demo

    try:
        status = run_demo(keep_open=keep_open, quick=quick)
    except KeyboardInterrupt:
        click.echo("\nInterrupted; everything the demo started has been stopped.", err=True)
        sys.exit(130)
    sys.exit(status)


if __name__ == "__main__":
    main(prog_name="plait")
