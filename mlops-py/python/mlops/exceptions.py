"""The exception classes of mlops: one per kind of Rust error, all under MlopsError."""


class MlopsError(Exception):
    """Base class of every mlops error."""


class NotFoundError(MlopsError, KeyError):
    """A run, experiment, model version, alias or artifact does not exist."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class AlreadyExistsError(MlopsError):
    """An entity with this name already exists."""


class ValidationError(MlopsError, ValueError):
    """A value breaks a rule; the message names the value and the rule."""


class ConflictError(MlopsError):
    """The operation conflicts with what is stored (e.g. a param logged again with another value)."""


class IntegrityError(MlopsError):
    """Stored bytes do not match their recorded digest."""


class StoreError(MlopsError):
    """The metadata or artifact store failed."""


class NotSupportedError(MlopsError, NotImplementedError):
    """The operation, type or format is not supported (the message says what is)."""


class TrainingError(MlopsError):
    """Training failed inside the compute backend or a trainer."""


class InferenceError(MlopsError):
    """A model failed while predicting."""
