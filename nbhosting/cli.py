"""The base of every `nbh` command: errors are one line on stderr and a non-zero exit."""
import sys

from django.core.management.base import BaseCommand, CommandParser


class OneLineParser(CommandParser):
    def error(self, message: str) -> None:
        if not self.called_from_command_line:
            super().error(message)
        sys.stderr.write(f"{self.prog}: {message} (see --help)\n")
        sys.exit(2)


class NbhCommand(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Django builds a CommandParser and offers no hook for its class; ours only adds error().
        parser.__class__ = OneLineParser
        parser.prog = f"nbh {subcommand.replace('_', '-')}"
        return parser
