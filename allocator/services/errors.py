"""Domain errors: what a page shows with `st.error(str(err))`. Messages are for people, not developers."""


__all__ = ['DomainError', 'NotAllowed', 'Closed', 'Invalid', 'NotFound']

class DomainError(Exception):
    """Base of every error a service raises on purpose."""


class NotAllowed(DomainError):
    """The acting user's role or ownership does not permit this."""


class Closed(DomainError):
    """The cohort's phase does not permit this now (window closed, responses locked...)."""


class Invalid(DomainError):
    """The input breaks a rule; nothing was changed."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to this user)."""
