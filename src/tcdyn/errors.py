"""Every exception tcdyn raises, in one place.

The names follow the official ``taskcluster`` client (``TaskclusterFailure``,
``TaskclusterRestFailure``, ``TaskclusterAuthFailure``, ``TaskclusterConnectionError``)
so that ``except`` clauses keep working after switching imports. No exception here ever
carries an access token, a temporary token or a signature.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see tcdyn/__init__)
if TYPE_CHECKING:
    from typing import Any


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]
             ) -> BaseException:
    """Unpickle an exception without calling ``cls.__init__`` (whose signature varies)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


def _picklable(value: Any) -> Any:
    """``value`` if it pickles; else a stand-in that keeps its type name and text."""
    import pickle  # imported when an error is pickled, not by ``import tcdyn``

    try:
        pickle.dumps(value)
    except Exception:
        if isinstance(value, BaseException):
            return Exception(f"{type(value).__name__}: {value}")
        return f"<unpicklable {type(value).__name__}>"
    return value


class TaskclusterFailure(Exception):
    """Base class of every tcdyn error.

    Every subclass pickles (for ``ProcessPoolExecutor`` and friends): it is rebuilt from its
    message and attributes, not by calling its constructor again.

    ``trace_id``: the ``x-taskcluster-trace-id`` of the API call that failed (the services
    log it as ``traceId``: hand it to whoever reads their logs), or None for an error no
    request went with (``tcdyn.tracing``).
    """

    trace_id: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        state = {key: _picklable(value) for key, value in self.__dict__.items()}
        return _rebuild, (type(self), self.args, state)


class ReferenceLoadError(TaskclusterFailure):
    """A reference (or the manifest listing them) is missing or malformed.

    ``source`` names the file or URL, ``field`` the JSON path inside it (if known). For a
    fetch, ``status_code`` is the HTTP status a deployment answered other than 200, and
    ``unreachable`` says that no answer came (connection failed, timed out).
    """

    def __init__(self, source: str, message: str, field: str | None = None, *,
                 status_code: int | None = None, unreachable: bool = False) -> None:
        self.source = source
        self.field = field
        self.status_code = status_code
        self.unreachable = unreachable
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}")


class ServiceNotFound(TaskclusterFailure, LookupError):
    """A reference set has no service of that class name (``tcdyn.load(...).Nope``); an
    attribute lookup turns it into ``AttributeError``."""

    def __init__(self, name: str, where: str, names: list[str]) -> None:
        self.name = name
        self.names = names
        super().__init__(f"{where} have no service {name!r} (they have {', '.join(names)})")




class SchemaValidationError(TaskclusterFailure, ValueError):
    """A payload, response or message does not satisfy its JSON schema.

    ``errors`` lists every problem found (see ``tcdyn.schemas``); nothing was sent.
    """

    def __init__(self, message: str, errors: list[Any] | None = None,
                 schema: str | None = None) -> None:
        self.errors = list(errors or [])
        self.schema = schema
        super().__init__(message)


class ScopeExpressionError(TaskclusterFailure, ValueError):
    """A scope expression is malformed, or a parameter has the wrong type.

    ``path`` locates the problem inside the expression (``$.AllOf[1].in``).
    """

    def __init__(self, message: str, path: str = "$") -> None:
        self.path = path
        #: What is wrong, without the path.
        self.reason = message
        super().__init__(f"scope expression at {path}: {message}")


class SchemaNotAvailable(TaskclusterFailure, LookupError):
    """A schema (or one it references) is not available from the deployment's source, so
    what it describes cannot be validated."""

    def __init__(self, path: str, url: str, referenced_by: str | None = None) -> None:
        self.path = path
        self.url = url
        self.referenced_by = referenced_by
        by = f" (referenced by {referenced_by})" if referenced_by else ""
        super().__init__(f"schema not available: {url}{by}")


class TaskclusterRestFailure(TaskclusterFailure):
    """The service answered with an error status (``CredentialsError``: credentials that
    cannot be used, found before sending).

    Attributes: ``status_code``, ``code`` (Taskcluster's error code, e.g.
    ``ResourceNotFound``), ``message`` (the server's full message), ``body`` (parsed JSON,
    or ``None``), ``raw_body`` (text when the body was not JSON), ``request_info``,
    ``service``, ``method_name``, ``http_method``, ``url`` and ``attempts``.

    ``str(error)`` is the server's message, as with the official client; ``summary`` says
    where it came from (``queue.task: HTTP 404 ResourceNotFound (GET <url>)``) and is shown
    below the message in a traceback (a note); ``describe()`` is both on one line.

    The official constructor works too: ``TaskclusterRestFailure(msg, superExc,
    status_code, body)``, ``msg=`` included.
    """

    #: Taskcluster error code this class stands for (``None`` for the generic class).
    taskcluster_code: str | None = None

    def __init__(
        self,
        message: str = "",
        superExc: BaseException | None = None,
        status_code: int | None = None,
        body: Any = None,
        *,
        msg: str | None = None,
        code: str | None = None,
        raw_body: str | None = None,
        service: str | None = None,
        method_name: str | None = None,
        http_method: str | None = None,
        url: str | None = None,
        attempts: int = 1,
    ) -> None:
        if msg is not None:  # the official keyword
            message = msg
        self.message = message
        self.status_code = status_code
        self.code = code
        self.body = body
        self.raw_body = raw_body
        self.request_info = body.get("requestInfo") if isinstance(body, dict) else None
        self.service = service
        self.method_name = method_name
        self.http_method = http_method
        self.url = url
        self.attempts = attempts
        self.superExc = superExc
        self.summary = self._summary()
        super().__init__(message or self.summary)
        if message and self.summary:
            self.add_note(self.summary)

    def _summary(self) -> str:
        where = ".".join(p for p in (self.service, self.method_name) if p)
        status = f"HTTP {self.status_code}" if self.status_code is not None else ""
        answer = " ".join(p for p in (status, self.code) if p)  # none: refused locally
        head = f"{where}: {answer}" if where and answer else where or answer
        req = f" ({self.http_method} {self.url})" if self.http_method and self.url else ""
        tries = f", after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"{head}{req}{tries}".strip()

    def describe(self) -> str:
        """Where the error came from and the server's message, on one line's start:
        ``queue.task: HTTP 404 ResourceNotFound (GET <url>): <message>``."""
        if self.summary and self.message:
            return f"{self.summary}: {self.message}"
        return self.summary or self.message


class TaskclusterAuthFailure(TaskclusterRestFailure):
    """HTTP 401: the request could not be authenticated."""


class CredentialsError(TaskclusterAuthFailure, ValueError):
    """Credentials (or a request to derive new ones) are invalid: found before anything is
    sent (``status_code`` is None). A ``TaskclusterAuthFailure``, as the official client
    says of credentials it cannot use."""


class TaskclusterConnectionError(TaskclusterFailure):
    """No response after every retry (connection refused, reset, timed out, ...).

    The official constructor works too: ``TaskclusterConnectionError(msg, superExc)``,
    ``msg=`` included.
    """

    def __init__(self, message: str = "", superExc: BaseException | None = None, *,
                 msg: str | None = None, url: str | None = None, attempts: int = 1) -> None:
        if msg is not None:  # the official keyword
            message = msg
        self.url = url
        self.attempts = attempts
        self.superExc = superExc
        super().__init__(message)


class ResponseTooLarge(TaskclusterRestFailure):
    """A response body passed the client's ``max_response_size`` (after decompression)."""


class InvalidResponse(TaskclusterRestFailure):
    """A successful status with a body that is not what an API answers: invalid JSON (or
    nested too deeply to parse), an HTML page (a proxy or captive portal), or a content
    encoding that cannot be decoded."""


class PaginationLoopError(InvalidResponse):
    """A paginated listing that would never end: the server answered page ``page`` with a
    ``continuationToken`` it had already given on page ``first_page`` of the same walk (0:
    the token the caller passed). The token itself is never shown (the server's opaque
    state, of any length, untrusted text); ``url`` carries no query."""

    def __init__(self, message: str, *, page: int, first_page: int,
                 **details: Any) -> None:
        self.page = page
        self.first_page = first_page
        super().__init__(message, status_code=200, **details)


class ProxyConfigurationError(TaskclusterFailure, ValueError):
    """A proxy variable (``HTTPS_PROXY``, ``ALL_PROXY``, ...) that applies to a request
    names a proxy tcdyn cannot use (``socks5://``, not a URL); nothing was sent. The message
    names the variable, never its credentials."""


class ClientClosedError(TaskclusterFailure, RuntimeError):
    """A client was used after ``close()`` / ``aclose()``."""


class TaskclusterTopicExchangeFailure(TaskclusterFailure, TypeError):
    """A routing-key binding was asked for with bad arguments."""


class TaskclusterArgumentError(TaskclusterFailure, TypeError, ValueError):
    """A call or a constructor got bad arguments (wrong count, unknown name, wrong type or
    value); raised before anything is sent. Also a ``TypeError`` (and ``ValueError``), as
    Python raises for functions, and a ``TaskclusterFailure``, as the official client
    raises."""


class TaskclusterArtifactError(TaskclusterFailure):
    """A queue artifact of storage type ``error``: ``reason`` is the one its task gave
    (``file-missing-on-worker``, ``invalid-resource-on-worker``, ``too-large-file-on-worker``)
    and the message is its message (the official client's name and attributes)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        self.reason = reason
        super().__init__(message)


class ObjectHashVerificationError(TaskclusterFailure):
    """Downloaded bytes do not match the hashes the object service recorded (the official
    client's name); nothing is left at the target."""


class UnknownMethodError(TaskclusterArgumentError, AttributeError):
    """``buildUrl``/``buildSignedUrl`` were asked for a method the service does not have."""


class MalformedPayload(TaskclusterRestFailure):
    """400: the body is not valid JSON."""

    taskcluster_code = "MalformedPayload"


class InvalidRequestArguments(TaskclusterRestFailure):
    """400: route or query arguments are invalid."""

    taskcluster_code = "InvalidRequestArguments"


class InputValidationError(TaskclusterRestFailure):
    """400: the payload fails the entry's input schema."""

    taskcluster_code = "InputValidationError"


class InputError(TaskclusterRestFailure):
    """400: the input is semantically wrong."""

    taskcluster_code = "InputError"


class AuthenticationFailed(TaskclusterAuthFailure):
    """401: credentials were rejected."""

    taskcluster_code = "AuthenticationFailed"


class InsufficientScopes(TaskclusterRestFailure):
    """403: the credentials lack a required scope."""

    taskcluster_code = "InsufficientScopes"


class ResourceNotFound(TaskclusterRestFailure):
    """404: no such resource."""

    taskcluster_code = "ResourceNotFound"


class RequestConflict(TaskclusterRestFailure):
    """409: the resource exists with different content."""

    taskcluster_code = "RequestConflict"


class ResourceExpired(TaskclusterRestFailure):
    """410: the resource has expired."""

    taskcluster_code = "ResourceExpired"


class InputTooLarge(TaskclusterRestFailure):
    """413: the payload is too large."""

    taskcluster_code = "InputTooLarge"


class InternalServerError(TaskclusterRestFailure):
    """500: the service failed."""

    taskcluster_code = "InternalServerError"


#: Taskcluster error code -> exception class.
BY_CODE: dict[str, type[TaskclusterRestFailure]] = {
    cls.__name__: cls
    for cls in (MalformedPayload, InvalidRequestArguments, InputValidationError, InputError,
                AuthenticationFailed, InsufficientScopes, ResourceNotFound, RequestConflict,
                ResourceExpired, InputTooLarge, InternalServerError)
}


class ConfigFileError(TaskclusterFailure, ValueError):
    """The config file (``~/.config/tcdyn/config.toml``, ``$TCDYN_CONFIG``) cannot be used:
    not TOML, an unknown key, a secret that group or others may read. ``path`` names it."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"config file {path}: {message}")


class DeploymentApiMismatch(TaskclusterRestFailure):
    """HTTP 404 from a route the deployment does not have (an answer that is not a
    Taskcluster error, such as ``{"error": "Not found"}``): the deployment's API differs
    from the references the client was built from. Load its own (``tcdyn.load(rootUrl)``);
    ``tcdyn references diff`` lists the differences."""


class SigninError(TaskclusterFailure):
    """``tcdyn signin`` did not get credentials: the browser never called back in time,
    or the callback carried something that is not a clientId and an accessToken."""


class MissingSecretError(TaskclusterFailure, LookupError):
    """``tcdyn.helper.load_secrets``: a required key is not in the loaded secrets (the
    official helper raises a plain ``Exception`` with the same message)."""
