"""Errors a use case reports to its caller; the API turns each into a status code and a message."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal with a readable message."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """The entity does not exist."""

    status_code = 404


class Forbidden(ServiceError):
    """The caller may not do this (its role, or four-eyes)."""

    status_code = 403


class Conflict(ServiceError):
    """The entity is not in a state that allows this (e.g. not waiting for review)."""

    status_code = 409


class Unavailable(ServiceError):
    """A dependency (Temporal) did not answer; trying again later may work."""

    status_code = 503


class Unprocessable(ServiceError):
    """The request cannot be taken as it is (e.g. an idempotency key reused for another body)."""

    status_code = 422
