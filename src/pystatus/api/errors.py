"""The REST API's one error: a status and a plain-text description, as nwaku answers."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
