"""The routes every reference resource has, made from a table: read one, create, change, (de)activate.

Machines, organizations, parts and warehouses each have GET /<path>/{<one>_id}, POST /<path> (under
a cap from the settings) and PATCH /<path>/{<one>_id}, and some routes that only set is_active; they
differ in their models, their service functions and their words. Each routes module lists them in
one `add_resource_routes` call: a `Resource`, its `Read`, `Create` and `Change`, and any `SetActive`.
The routes keep the names, summaries, descriptions and path parameter names the hand-written ones
had (`get_machine`, `machine_id`), so the OpenAPI document stays as it was. Listing stays hand-written
in each module: its filters differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from api.http.auth.principal import Principal
from api.http.deps import AppSettings, Connection, CurrentUser
from api.http.location import created
from api.runtime.settings import Settings
from ledger.postgres.connection import Connection as Conn

In = TypeVar("In", bound=BaseModel)
Fields = TypeVar("Fields", bound=BaseModel)


@dataclass(frozen=True)
class Resource:
    """The resource the routes are of: its collection's path, the word for one of them, and its model."""

    path: str  # the collection: "machines"
    one: str  # one of them: "machine", which names the routes (get_machine) and the id (machine_id)
    out: type[BaseModel]

    @property
    def item(self) -> str:
        """The path of one of them: /machines/{machine_id}."""
        return f"/{self.path}/{{{self.one}_id}}"


@dataclass(frozen=True)
class Read:
    """GET /<path>/{<one>_id}: `find(conn, caller, id)`; the summary and the doc are the OpenAPI words."""

    find: Callable[[Conn, Principal, UUID], BaseModel]
    summary: str
    doc: str


@dataclass(frozen=True)
class Create(Generic[In]):
    """POST /<path>: `make(conn, caller, body, cap)`, the cap read from the settings by `cap`."""

    body: type[In]
    make: Callable[[Conn, Principal, In, int], BaseModel]
    cap: Callable[[Settings], int]
    summary: str
    doc: str


@dataclass(frozen=True)
class Change(Generic[Fields]):
    """PATCH /<path>/{<one>_id}: `apply(conn, caller, id, body)`; the routes setting is_active use it too."""

    body: type[Fields]
    apply: Callable[[Conn, Principal, UUID, Fields], BaseModel]
    summary: str
    doc: str


@dataclass(frozen=True)
class SetActive:
    """A route that only sets is_active: POST /<path>/{<one>_id}/<name>, or DELETE /<path>/{<one>_id}."""

    name: str  # "deactivate" or "activate": the path's last segment (for POST) and the route's name
    active: bool
    summary: str
    doc: str
    method: Literal["POST", "DELETE"] = "POST"


def _id(resource: Resource) -> Any:
    # The route functions are shared, so their id parameter cannot carry each resource's name: the
    # alias gives the OpenAPI parameter (and a refusal's `loc`) the name the path has, machine_id.
    return Annotated[UUID, Path(alias=f"{resource.one}_id")]


def _read(read: Read, id_type: Any) -> Callable[..., BaseModel]:
    def route(resource_id: UUID, conn: Connection, caller: CurrentUser) -> BaseModel:
        return read.find(conn, caller, resource_id)

    route.__annotations__["resource_id"] = id_type
    route.__doc__ = read.doc
    return route


def _create(create: Create[In], collection: str) -> Callable[..., BaseModel]:
    def route(
        body: In, conn: Connection, caller: CurrentUser, settings: AppSettings, response: Response
    ) -> BaseModel:
        made = create.make(conn, caller, body, create.cap(settings))
        created(response, collection, getattr(made, "id", None))
        return made

    # FastAPI reads the body's model from the annotation: each resource declares its own.
    route.__annotations__["body"] = create.body
    route.__doc__ = create.doc
    return route


def _change(change: Change[Fields], id_type: Any) -> Callable[..., BaseModel]:
    def route(resource_id: UUID, body: Fields, conn: Connection, caller: CurrentUser) -> BaseModel:
        return change.apply(conn, caller, resource_id, body)

    route.__annotations__["resource_id"] = id_type
    route.__annotations__["body"] = change.body
    route.__doc__ = change.doc
    return route


def _set_active(change: Change[Fields], switch: SetActive, id_type: Any) -> Callable[..., BaseModel]:
    def route(resource_id: UUID, conn: Connection, caller: CurrentUser) -> BaseModel:
        return change.apply(conn, caller, resource_id, change.body(is_active=switch.active))

    route.__annotations__["resource_id"] = id_type
    route.__doc__ = switch.doc
    return route


def add_resource_routes(
    router: APIRouter,
    resource: Resource,
    read: Read,
    create: Create[In],
    change: Change[Fields],
    *set_active: SetActive,
) -> None:
    """Add to `router`, in this order: read one, create, change, then each `set_active` route."""
    one, item, id_type = resource.one, resource.item, _id(resource)

    def add(
        path: str, route: Callable[..., BaseModel], method: str, name: str, summary: str, status: int = 200
    ) -> None:
        router.add_api_route(
            path,
            route,
            methods=[method],
            status_code=status,
            response_model=resource.out,
            name=name,
            summary=summary,
        )

    add(item, _read(read, id_type), "GET", f"get_{one}", read.summary)
    add(
        f"/{resource.path}",
        _create(create, f"/{resource.path}"),
        "POST",
        f"create_{one}",
        create.summary,
        201,
    )
    add(item, _change(change, id_type), "PATCH", f"change_{one}", change.summary)
    for switch in set_active:
        path = item if switch.method == "DELETE" else f"{item}/{switch.name}"
        add(path, _set_active(change, switch, id_type), switch.method, f"{switch.name}_{one}", switch.summary)
