"""Lifts a sign-in lockout before it expires: `signin_unlock --user NAME` and/or `--address IP`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal import signin


class Command(BaseCommand):
    help = "Lift the sign-in lockout of a username and/or a client address, and forget its failures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="the username, exactly as typed at sign-in")
        parser.add_argument("--address", help="the client's IP address")

    def handle(self, *args: Any, user: str | None, address: str | None, **options: Any) -> None:
        if user is None and address is None:
            raise CommandError("name a --user, an --address or both")
        signin.unlock(username=user, address=address)
        self.stdout.write(f"unlocked: {', '.join(filter(None, [user, address]))}")
