"""Errors a reader or author can cause; each message names the culprit."""


class DemoError(ValueError):
    """Bad input to a demo: an unknown demo, key, value or fault schedule."""


class ParamError(DemoError):
    """A parameter is unknown, of the wrong type, or out of bounds."""


class ScheduleError(ParamError):
    """A fault schedule item is malformed or impossible."""
