"""Domain errors; adapters map them to HTTP codes or exit codes."""


class DomainError(Exception):
    """Base class: a request the domain refuses, with a message for people."""


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    """The request contradicts the current state (illegal transition, duplicate)."""


class Forbidden(DomainError):
    pass


class InvalidInput(DomainError):
    pass


class TooLarge(DomainError):
    """The input is bigger than this system takes at once (a file, a body, a row count)."""


class Unavailable(DomainError):
    """This installation cannot do it (a converter or tool is not installed)."""
