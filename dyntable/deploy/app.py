"""The application declaration: the table, its Lambda functions, what each may touch, the API.

Everything here is plain data, checked when it is made. :mod:`dyntable.deploy.iam` turns a
function's :class:`Access` list into a least-privilege policy, :mod:`dyntable.deploy.sam`
turns the whole :class:`Application` into a SAM template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from dyntable.deploy.errors import DeployDeclarationError

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = [
    "Access",
    "Api",
    "Application",
    "Cognito",
    "Function",
    "StreamEvents",
    "TenantIsolation",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,47}$")
_ROUTE = re.compile(r"^(ANY|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/\S*)$")
_TAG = re.compile(r"^[A-Za-z0-9_.:/=+@-]{1,128}$")


@dataclass(frozen=True)
class Access:
    """What one function may do with one model's items.

    Args:
        model: the model class.
        read: GetItem and Query (plus BatchGetItem with ``batch``, ConditionCheckItem with
            ``transactions``).
        write: PutItem and UpdateItem (plus BatchWriteItem with ``batch``).
        delete: DeleteItem (plus BatchWriteItem with ``batch``).
        indexes: the indexes the function queries for this model (its keys on them).
        scan: Scan, on the table and on each of ``indexes``.
        batch: the batch operations of the granted reads / writes / deletes.
        transactions: the model takes part in transactions: TransactWriteItems and
            TransactGetItems are authorised per item action, so this adds ConditionCheckItem.
        partiql: the PartiQL actions matching ``read`` / ``write`` / ``delete``.
        shared: under tenant isolation, this model's items are common to every tenant
            (e.g. a product catalogue): its partition key is allowed by its literal prefix.
    """

    model: type[Model]
    read: bool = False
    write: bool = False
    delete: bool = False
    indexes: tuple[str, ...] = ()
    scan: bool = False
    batch: bool = False
    transactions: bool = False
    partiql: bool = False
    shared: bool = False

    def __post_init__(self) -> None:
        spec = getattr(self.model, "__dyntable__", None)
        if spec is None:
            raise DeployDeclarationError(f"Access takes a dyntable model, not {self.model!r}")
        object.__setattr__(self, "indexes", tuple(self.indexes))
        name = self.model.__name__
        if not (self.read or self.write or self.delete or self.scan):
            raise DeployDeclarationError(
                f"Access({name}) grants nothing: give read, write, delete or scan")
        if self.indexes and not (self.read or self.scan):
            raise DeployDeclarationError(
                f"Access({name}, indexes={list(self.indexes)}) needs read=True or scan=True")
        for index in self.indexes:
            if index not in spec.indexes:
                raise DeployDeclarationError(
                    f"Access({name}): the model declares no key on index {index!r} "
                    f"(its indexes: {sorted(spec.indexes) or 'none'})")


@dataclass(frozen=True)
class TenantIsolation:
    """Confine a function's item access to one tenant with ``dynamodb:LeadingKeys``.

    Args:
        field: the model field holding the tenant; every protected model's partition key
            template must start with it, after an optional literal (``TENANT#{tenant}#...``).
        tag: the principal tag carrying the tenant (``${aws:PrincipalTag/<tag>}`` in the
            policy, and the session tag the handler passes to ``sts:AssumeRole``).
        variable: another IAM policy variable instead of the principal tag, e.g.
            ``${cognito-identity.amazonaws.com:sub}`` when the tenant is the identity id.
        mode: ``"assume_role"`` (default): the policy goes on a tenant role the function
            assumes per request with the tenant as session tag, and the function's own role
            may only assume it; ``"direct"``: the policy goes on the function's role (for a
            role that carries the tenant tag itself, e.g. one stack per tenant).
    """

    field: str = "tenant"
    tag: str = "tenant"
    variable: str | None = None
    mode: Literal["assume_role", "direct"] = "assume_role"

    def __post_init__(self) -> None:
        if not _TAG.match(self.tag):
            raise DeployDeclarationError(f"TenantIsolation: invalid tag key {self.tag!r}")
        if self.variable is not None and not re.fullmatch(r"\$\{[^{}*?$]+\}", self.variable):
            raise DeployDeclarationError(
                f"TenantIsolation: variable must be one IAM policy variable such as "
                f"'${{aws:PrincipalTag/tenant}}', not {self.variable!r}")
        if self.mode not in ("assume_role", "direct"):
            raise DeployDeclarationError(
                f"TenantIsolation: mode is 'assume_role' or 'direct', not {self.mode!r}")

    @property
    def policy_variable(self) -> str:
        """The IAM policy variable standing for the caller's tenant."""
        return self.variable or f"${{aws:PrincipalTag/{self.tag}}}"


@dataclass(frozen=True)
class StreamEvents:
    """The function's DynamoDB stream event source mapping.

    Args:
        models: only records of these models reach the function (a Lambda filter on the
            entity attribute of ``NewImage`` / ``OldImage``); empty: every record.
        batch_size: records per invocation (1 to 10000).
        bisect_on_error: split a failing batch in two and retry each half.
        maximum_retry_attempts: retries of a failing batch (-1: until the record expires).
        starting_position: ``LATEST`` or ``TRIM_HORIZON``.
        maximum_batching_window: seconds to gather records before invoking (0 to 300).
        report_batch_item_failures: the handler returns the failed sequence numbers
            (``FunctionResponseTypes: [ReportBatchItemFailures]``), as dyntable's stream
            handler does.
        event_names: only these record kinds (``INSERT``, ``MODIFY``, ``REMOVE``) reach the
            function; empty: all three.
    """

    models: tuple[type[Model], ...] = ()
    batch_size: int = 100
    bisect_on_error: bool = True
    maximum_retry_attempts: int = 5
    starting_position: Literal["LATEST", "TRIM_HORIZON"] = "LATEST"
    maximum_batching_window: int | None = None
    report_batch_item_failures: bool = True
    event_names: tuple[Literal["INSERT", "MODIFY", "REMOVE"], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "event_names", tuple(self.event_names))
        bad = [e for e in self.event_names if e not in ("INSERT", "MODIFY", "REMOVE")]
        if bad:
            raise DeployDeclarationError(
                f"StreamEvents: event_names are INSERT, MODIFY and REMOVE, not {bad}")
        if not 1 <= self.batch_size <= 10000:
            raise DeployDeclarationError(
                f"StreamEvents: batch_size is 1 to 10000, not {self.batch_size}")
        if not -1 <= self.maximum_retry_attempts <= 10000:
            raise DeployDeclarationError(
                "StreamEvents: maximum_retry_attempts is -1 to 10000, "
                f"not {self.maximum_retry_attempts}")
        if self.starting_position not in ("LATEST", "TRIM_HORIZON"):
            raise DeployDeclarationError(
                f"StreamEvents: starting_position is LATEST or TRIM_HORIZON, "
                f"not {self.starting_position!r}")
        window = self.maximum_batching_window
        if window is not None and not 0 <= window <= 300:
            raise DeployDeclarationError(
                f"StreamEvents: maximum_batching_window is 0 to 300 seconds, not {window}")


@dataclass(frozen=True)
class Function:
    """One Lambda function of the application.

    Args:
        name: the function's name in the declaration (``api``); the template's logical id
            is made from it (``ApiFunction``).
        handler: ``module.function`` (``shopapi.api.handler``).
        code_uri: the directory ``sam build`` packages, relative to the template.
        access: what the function may do with which models.
        routes: API routes served by this function, as ``"METHOD /path"``
            (``"ANY /{proxy+}"``); they need the application's :class:`Api`.
        stream: the table's stream as this function's event source.
        tenant: confine item access to the caller's tenant (see :class:`TenantIsolation`);
            an access it cannot confine raises TenantIsolationError when the
            :class:`Application` is made.
        runtime / memory_size / timeout / architecture: Lambda settings.
        environment: extra environment variables (``TABLE_NAME`` is always set).
        build_method: ``"makefile"`` to have ``sam build`` run the ``build-<LogicalId>``
            target of a Makefile in ``code_uri`` (e.g. to package without boto3, see
            docs/lambda.md); ``None`` (default): SAM's Python builder with requirements.txt.
    """

    name: str
    handler: str
    code_uri: str = "."
    access: Sequence[Access] = ()
    routes: Sequence[str] = ()
    stream: StreamEvents | None = None
    tenant: TenantIsolation | None = None
    runtime: str = "python3.12"
    memory_size: int = 256
    timeout: int = 10
    architecture: Literal["arm64", "x86_64"] = "arm64"
    environment: Mapping[str, str] = field(default_factory=dict)
    build_method: Literal["makefile"] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "access", tuple(self.access))
        object.__setattr__(self, "routes", tuple(self.routes))
        object.__setattr__(self, "environment", dict(self.environment))
        if not _NAME.match(self.name):
            raise DeployDeclarationError(
                f"function name {self.name!r}: letters, digits, '-' and '_', starting with a "
                "letter, at most 48 characters")
        if "." not in self.handler:
            raise DeployDeclarationError(
                f"function {self.name!r}: handler is module.function, not {self.handler!r}")
        for route in self.routes:
            if not _ROUTE.match(route):
                raise DeployDeclarationError(
                    f"function {self.name!r}: route {route!r} is not 'METHOD /path'")
        if not 128 <= self.memory_size <= 10240:
            raise DeployDeclarationError(
                f"function {self.name!r}: memory_size is 128 to 10240 MB, not {self.memory_size}")
        if self.build_method not in (None, "makefile"):
            raise DeployDeclarationError(
                f"function {self.name!r}: build_method is 'makefile' or None, "
                f"not {self.build_method!r}")
        if not 1 <= self.timeout <= 900:
            raise DeployDeclarationError(
                f"function {self.name!r}: timeout is 1 to 900 seconds, not {self.timeout}")
        if self.stream is not None and self.tenant is not None:
            raise DeployDeclarationError(
                f"function {self.name!r}: a stream function reads every tenant's records; "
                "dynamodb:LeadingKeys does not apply to streams, so it cannot be tenant-isolated")

    @property
    def logical_id(self) -> str:
        """The function's logical id in the template (``api`` -> ``ApiFunction``)."""
        return _camel(self.name) + "Function"


@dataclass(frozen=True)
class Cognito:
    """The Cognito user pool behind the API's authorizer.

    Args:
        user_pool_arn: ``None`` creates a user pool and an app client in the template
            (with the custom attribute ``tenant_attribute``); ``"parameter"`` takes an
            existing pool's ARN (and, for an HTTP API, its app client id) as template
            parameters.
        tenant_attribute: the custom attribute holding the tenant; the token claim is
            ``custom:<tenant_attribute>``.
    """

    user_pool_arn: Literal["parameter"] | None = None
    tenant_attribute: str = "tenant"

    def __post_init__(self) -> None:
        if self.user_pool_arn not in (None, "parameter"):
            raise DeployDeclarationError(
                f"Cognito: user_pool_arn is None (create one) or 'parameter', "
                f"not {self.user_pool_arn!r}")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,20}", self.tenant_attribute):
            raise DeployDeclarationError(
                f"Cognito: tenant_attribute {self.tenant_attribute!r} is not a valid "
                "custom attribute name")

    @property
    def claim(self) -> str:
        """The token claim holding the tenant (``custom:tenant``)."""
        return f"custom:{self.tenant_attribute}"


@dataclass(frozen=True)
class Api:
    """The API Gateway API in front of the functions' routes.

    Args:
        kind: ``"rest"`` (``AWS::Serverless::Api``; claims in
            ``requestContext.authorizer.claims``) or ``"http"`` (``AWS::Serverless::HttpApi``;
            claims in ``requestContext.authorizer.jwt.claims``).
        auth: the Cognito user pool authorizer (every route requires it).
        stage: the REST API's stage name (an HTTP API uses ``$default``).
    """

    kind: Literal["rest", "http"] = "rest"
    auth: Cognito = field(default_factory=Cognito)
    stage: str = "prod"

    def __post_init__(self) -> None:
        if self.kind not in ("rest", "http"):
            raise DeployDeclarationError(f"Api: kind is 'rest' or 'http', not {self.kind!r}")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,128}", self.stage):
            raise DeployDeclarationError(f"Api: invalid stage name {self.stage!r}")


@dataclass(frozen=True)
class Application:
    """A serverless application over one table: its functions and its API.

    Args:
        table: the table declaration (a :class:`dyntable.Table`).
        functions: the Lambda functions.
        api: the API Gateway API, needed when a function declares routes.
        description: the template's description.
    """

    table: TableSchema
    functions: Sequence[Function]
    api: Api | None = None
    description: str = ""

    def __post_init__(self) -> None:
        from dyntable.schema.table import TableSchema

        object.__setattr__(self, "functions", tuple(self.functions))
        if not isinstance(self.table, TableSchema):
            raise DeployDeclarationError(
                f"Application: table is a dyntable Table, not {type(self.table).__name__}")
        ids: dict[str, str] = {}
        for fn in self.functions:
            if not isinstance(fn, Function):
                raise DeployDeclarationError("Application: functions takes Function(...) items")
            if fn.logical_id in ids:
                raise DeployDeclarationError(
                    f"functions {ids[fn.logical_id]!r} and {fn.name!r} have the same logical id")
            ids[fn.logical_id] = fn.name
            self._check_function(fn)

    def _check_function(self, fn: Function) -> None:
        if fn.routes and self.api is None:
            raise DeployDeclarationError(
                f"function {fn.name!r} declares routes but the application has no api=Api(...)")
        if fn.stream is not None and not self.table.stream:
            raise DeployDeclarationError(
                f"function {fn.name!r} reads the stream of table {self.table.name!r}, which "
                "declares none (Table(..., stream='NEW_AND_OLD_IMAGES'))")
        models = [a.model for a in fn.access] + list(fn.stream.models if fn.stream else ())
        for model in models:
            if model.__dyntable__.table is not self.table:
                raise DeployDeclarationError(
                    f"function {fn.name!r}: model {model.__name__} belongs to table "
                    f"{model.__dyntable__.table.name!r}, not {self.table.name!r}")
        if fn.tenant is not None:
            from dyntable.deploy.iam import check_isolation

            check_isolation(fn)  # what LeadingKeys cannot confine fails here, not at deploy

    def function(self, name: str) -> Function:
        """The function called ``name``."""
        for fn in self.functions:
            if fn.name == name:
                return fn
        known = [fn.name for fn in self.functions] or "none"
        raise DeployDeclarationError(f"the application has no function {name!r} (functions: "
                                     f"{known})")


def _camel(name: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", name) if w)
