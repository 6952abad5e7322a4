"""Given-events / when-command / then-events, on the pure rules (no database)."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from ledger.commands import StockCommand
from ledger.decide import decide, stock_keys
from ledger.events import Event
from ledger.fold import fold_stock
from ledger.policy import Policy
from ledger.rules import Decision
from ledger.state import (
    DecisionContext,
    MachineInfo,
    MovementState,
    PartInfo,
    UserInfo,
    WarehouseInfo,
    movement_state,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Scenario:
    """A little world of reference data plus the events already recorded."""

    policy: Policy = field(default_factory=Policy)
    parts: dict[UUID, PartInfo] = field(default_factory=dict)
    warehouses: dict[UUID, WarehouseInfo] = field(default_factory=dict)
    machines: dict[UUID, MachineInfo] = field(default_factory=dict)
    history: list[tuple[str, Event]] = field(default_factory=list)
    actor: UserInfo | None = field(default_factory=lambda: UserInfo(uuid.uuid4(), uuid.uuid4()))
    movements_this_year: int = 0
    recorders: dict[str, UUID] = field(default_factory=dict)  # who opened each stream
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def part(self, part_type: str = "consumable", unit: str = "pieces", price: str | None = None) -> UUID:
        part_id = uuid.uuid4()
        self.parts[part_id] = PartInfo(part_id, part_type, unit, Decimal(price) if price else None)
        return part_id

    def warehouse(self, organization_id: UUID | None = None, *, active: bool = True) -> UUID:
        warehouse_id = uuid.uuid4()
        self.warehouses[warehouse_id] = WarehouseInfo(warehouse_id, organization_id or uuid.uuid4(), active)
        return warehouse_id

    def machine(self, owner: UUID, owner_type: str = "customer", status: str = "active") -> UUID:
        machine_id = uuid.uuid4()
        self.machines[machine_id] = MachineInfo(machine_id, owner, owner_type, status)
        return machine_id

    def next_id(self) -> UUID:
        return UUID(int=next(self._ids))

    def given(self, *decisions: Decision) -> None:
        for decision in decisions:
            self.history.extend(decision.events)

    def _movements(self) -> dict[UUID, MovementState]:
        streams: dict[str, list[Event]] = defaultdict(list)
        for stream_id, event in self.history:
            streams[stream_id].append(event)
        states = {}
        for stream_id, events in streams.items():
            state = movement_state(enumerate(events, start=1), self.recorders.get(stream_id))
            if state is not None:
                states[state.movement.transaction_id] = state
        return states

    def stock(self) -> dict[tuple[UUID, UUID], Decimal]:
        return fold_stock(event for _, event in self.history)

    def when(self, command: StockCommand) -> Decision:
        movements = self._movements()
        levels = self.stock()
        context = DecisionContext(
            now=NOW,
            actor=self.actor,
            parts=self.parts,
            warehouses=self.warehouses,
            machines=self.machines,
            movements=movements,
            stock={k: levels.get(k, Decimal(0)) for k in stock_keys(command, movements)},
            movements_this_year=self.movements_this_year,
            new_id=self.next_id,
        )
        return decide(command, context, self.policy)

    def record(self, command: StockCommand) -> Decision:
        decision = self.when(command)
        if self.actor is not None:
            for stream_id, _ in decision.events:
                self.recorders.setdefault(stream_id, self.actor.id)
        self.given(decision)
        self.movements_this_year += decision.new_movements
        return decision
