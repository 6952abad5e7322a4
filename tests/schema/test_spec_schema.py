"""The migrated database matches the ABParts schema spec, column by column, and enforces its rules.

EXPECTED_* below is the spec (/work/shared/spec/abparts-schema.md) written out the way
PostgreSQL's catalogs report it, plus the documented resolutions of its defects
(README, "The schema"): parts.unit_price, the organization_not_own_parent CHECK and
the two machine_customer_only triggers. Every table, column, index, constraint, view
and enum label is compared against pg_catalog, so any difference fails with a
readable list of what is missing, unexpected or different.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
import pytest
from psycopg import errors, sql

from api.runtime.database import downgrade, migrate
from ledger.postgres.connection import Connection as Conn

pytestmark = pytest.mark.db

Catalog = dict[str, dict[str, object]]


class Col(NamedTuple):
    """A column as pg_catalog reports it: format_type, nullability, default, single-column FK."""

    type: str
    nullable: bool
    default: str | None = None
    references: str | None = None


class Index(NamedTuple):
    """An index that backs no constraint: its table, key columns and partial predicate."""

    table: str
    columns: tuple[str, ...]
    where: str | None = None
    unique: bool = False
    method: str = "btree"


NULL, NOT_NULL = True, False
UUID_T, TEXT, BOOL, INT, TSTZ = "uuid", "text", "boolean", "integer", "timestamp with time zone"
V45, V50, V100 = "character varying(45)", "character varying(50)", "character varying(100)"
V20, V255, V500 = "character varying(20)", "character varying(255)", "character varying(500)"
QTY, MONEY = "numeric(10,3)", "numeric(10,2)"
ID = Col(UUID_T, NOT_NULL, "gen_random_uuid()")
STAMP = Col(TSTZ, NOT_NULL, "now()")
ORG, USER, PART = "organizations.id", "users.id", "parts.id"
WAREHOUSE, MACHINE = "warehouses.id", "machines.id"

EXPECTED_TABLES: dict[str, dict[str, Col]] = {
    "organizations": {
        "id": ID,
        "name": Col(V255, NOT_NULL),
        "organization_type": Col("organization_type_enum", NOT_NULL),
        "parent_organization_id": Col(UUID_T, NULL, references=ORG),
        "address": Col(TEXT, NULL),
        "contact_info": Col(TEXT, NULL),
        "is_active": Col(BOOL, NOT_NULL, "true"),
        "created_at": STAMP,
        "updated_at": STAMP,
    },
    "users": {
        "id": ID,
        "organization_id": Col(UUID_T, NOT_NULL, references=ORG),
        "username": Col(V255, NOT_NULL),
        "password_hash": Col(TEXT, NOT_NULL),
        "email": Col(V255, NOT_NULL),
        "name": Col(V255, NULL),
        "role": Col("user_role_enum", NOT_NULL),
        "user_status": Col("user_status_enum", NOT_NULL, "'active'::user_status_enum"),
        "failed_login_attempts": Col(INT, NOT_NULL, "0"),
        "locked_until": Col(TSTZ, NULL),
        "last_login": Col(TSTZ, NULL),
        "invitation_token": Col(V255, NULL),
        "invitation_expires_at": Col(TSTZ, NULL),
        "invited_by_user_id": Col(UUID_T, NULL, references=USER),
        "password_reset_token": Col(V255, NULL),
        "password_reset_expires_at": Col(TSTZ, NULL),
        "email_verification_token": Col(V255, NULL),
        "email_verification_expires_at": Col(TSTZ, NULL),
        "pending_email": Col(V255, NULL),
        "is_active": Col(BOOL, NOT_NULL, "true"),
        "created_at": STAMP,
        "updated_at": STAMP,
    },
    "warehouses": {
        "id": ID,
        "organization_id": Col(UUID_T, NOT_NULL, references=ORG),
        "name": Col(V255, NOT_NULL),
        "location": Col(V500, NULL),
        "description": Col(TEXT, NULL),
        "is_active": Col(BOOL, NOT_NULL, "true"),
        "created_at": STAMP,
        "updated_at": STAMP,
    },
    "parts": {
        "id": ID,
        "part_number": Col(V255, NOT_NULL),
        "name": Col(V255, NOT_NULL),
        "description": Col(TEXT, NULL),
        "part_type": Col("part_type_enum", NOT_NULL, "'consumable'::part_type_enum"),
        "is_proprietary": Col(BOOL, NOT_NULL, "false"),
        "unit_of_measure": Col(V50, NOT_NULL, "'pieces'::character varying"),
        "manufacturer_part_number": Col(V255, NULL),
        "manufacturer_delivery_time_days": Col(INT, NULL),
        "local_supplier_delivery_time_days": Col(INT, NULL),
        "image_urls": Col("text[]", NULL),
        "unit_price": Col(MONEY, NULL),  # not in the spec's table; its inventory_summary view reads it
        "created_at": STAMP,
        "updated_at": STAMP,
    },
    "inventory": {
        "id": ID,
        "warehouse_id": Col(UUID_T, NOT_NULL, references=WAREHOUSE),
        "part_id": Col(UUID_T, NOT_NULL, references=PART),
        "current_stock": Col(QTY, NOT_NULL, "0"),
        "minimum_stock_recommendation": Col(QTY, NOT_NULL, "0"),
        "unit_of_measure": Col(V50, NOT_NULL),
        "reorder_threshold_set_by": Col(V50, NULL),
        "last_recommendation_update": Col(TSTZ, NULL),
        "last_updated": STAMP,
        "created_at": STAMP,
        "reserved_stock": Col(QTY, NOT_NULL, "0"),  # not in the spec (migration 0012): reserved for orders
    },
    "machines": {
        "id": ID,
        "customer_organization_id": Col(UUID_T, NOT_NULL, references=ORG),
        "model_type": Col(V100, NOT_NULL),
        "name": Col(V255, NOT_NULL),
        "serial_number": Col(V255, NOT_NULL),
        "purchase_date": Col(TSTZ, NULL),
        "warranty_expiry_date": Col(TSTZ, NULL),
        "status": Col("machine_status_enum", NOT_NULL, "'active'::machine_status_enum"),
        "last_maintenance_date": Col(TSTZ, NULL),
        "next_maintenance_date": Col(TSTZ, NULL),
        "location": Col(V255, NULL),
        "notes": Col(TEXT, NULL),
        "created_at": STAMP,
        "updated_at": STAMP,
    },
    "transactions": {
        "id": ID,
        "transaction_type": Col("transaction_type_enum", NOT_NULL),
        "part_id": Col(UUID_T, NOT_NULL, references=PART),
        "from_warehouse_id": Col(UUID_T, NULL, references=WAREHOUSE),
        "to_warehouse_id": Col(UUID_T, NULL, references=WAREHOUSE),
        "machine_id": Col(UUID_T, NULL, references=MACHINE),
        "quantity": Col(QTY, NOT_NULL),
        "unit_of_measure": Col(V50, NOT_NULL),
        "performed_by_user_id": Col(UUID_T, NOT_NULL, references=USER),
        "transaction_date": Col(TSTZ, NOT_NULL),
        "notes": Col(TEXT, NULL),
        "reference_number": Col(V100, NULL),
        "requires_approval": Col(BOOL, NOT_NULL, "false"),
        "approval_status": Col(V50, NULL),
        "created_at": STAMP,
    },
    "customer_orders": {
        "id": ID,
        "customer_organization_id": Col(UUID_T, NOT_NULL, references=ORG),
        "oraseas_organization_id": Col(UUID_T, NOT_NULL, references=ORG),
        "order_date": Col(TSTZ, NOT_NULL),
        "expected_delivery_date": Col(TSTZ, NULL),
        "actual_delivery_date": Col(TSTZ, NULL),
        "status": Col(V50, NOT_NULL),
        "ordered_by_user_id": Col(UUID_T, NULL, references=USER),
        "notes": Col(TEXT, NULL),
        "created_at": STAMP,
        "updated_at": STAMP,
    },
    "customer_order_items": {
        "id": ID,
        "customer_order_id": Col(UUID_T, NOT_NULL, references="customer_orders.id"),
        "part_id": Col(UUID_T, NOT_NULL, references=PART),
        "quantity": Col(QTY, NOT_NULL, "1"),
        "unit_price": Col(MONEY, NULL),
        "created_at": STAMP,
        "updated_at": STAMP,
        # Not in the spec (migration 0005): per-line progress that the order API shows.
        "shipped_quantity": Col(QTY, NOT_NULL, "0"),
        "received_quantity": Col(QTY, NOT_NULL, "0"),
    },
    "supplier_orders": {
        "id": ID,
        "ordering_organization_id": Col(UUID_T, NOT_NULL, references=ORG),
        "supplier_name": Col(V255, NOT_NULL),
        "order_date": Col(TSTZ, NOT_NULL),
        "expected_delivery_date": Col(TSTZ, NULL),
        "actual_delivery_date": Col(TSTZ, NULL),
        "status": Col(V50, NOT_NULL),
        "notes": Col(TEXT, NULL),
        "created_at": STAMP,
        "updated_at": STAMP,
        "supplier_organization_id": Col(UUID_T, NULL, references=ORG),  # not in the spec (migration 0005)
    },
    "supplier_order_items": {
        "id": ID,
        "supplier_order_id": Col(UUID_T, NOT_NULL, references="supplier_orders.id"),
        "part_id": Col(UUID_T, NOT_NULL, references=PART),
        "quantity": Col(QTY, NOT_NULL, "1"),
        "unit_price": Col(MONEY, NULL),
        "created_at": STAMP,
        "updated_at": STAMP,
        "received_quantity": Col(QTY, NOT_NULL, "0"),  # not in the spec (migration 0005)
    },
    "part_usage": {
        "id": ID,
        "customer_organization_id": Col(UUID_T, NOT_NULL, references=ORG),
        "part_id": Col(UUID_T, NOT_NULL, references=PART),
        "usage_date": Col(TSTZ, NOT_NULL),
        "quantity": Col(QTY, NOT_NULL, "1"),
        "machine_id": Col(UUID_T, NULL, references=MACHINE),
        "recorded_by_user_id": Col(UUID_T, NULL, references=USER),
        "warehouse_id": Col(UUID_T, NOT_NULL, references=WAREHOUSE),
        "notes": Col(TEXT, NULL),
        "created_at": STAMP,
        "updated_at": STAMP,
    },
    "security_events": {
        "id": ID,
        "user_id": Col(UUID_T, NULL, references=USER),
        "event_type": Col(V50, NOT_NULL),
        "ip_address": Col(V45, NULL),
        "user_agent": Col(TEXT, NULL),
        "session_id": Col(V255, NULL),
        "details": Col(TEXT, NULL),
        "timestamp": STAMP,
        "risk_level": Col(V20, NOT_NULL, "'low'::character varying"),
    },
    "user_sessions": {
        "id": ID,
        "user_id": Col(UUID_T, NOT_NULL, references=USER),
        "session_token": Col(V255, NOT_NULL),
        "ip_address": Col(V45, NULL),
        "user_agent": Col(TEXT, NULL),
        "created_at": STAMP,
        "expires_at": Col(TSTZ, NOT_NULL),
        "last_activity": STAMP,
        "is_active": Col(BOOL, NOT_NULL, "true"),
    },
    "invitation_audit_logs": {
        "id": ID,
        "user_id": Col(UUID_T, NOT_NULL, references=USER),
        "action": Col(V50, NOT_NULL),
        "performed_by_user_id": Col(UUID_T, NULL, references=USER),
        "timestamp": STAMP,
        "details": Col(TEXT, NULL),
    },
    "user_management_audit_logs": {
        "id": ID,
        "user_id": Col(UUID_T, NOT_NULL, references=USER),
        "action": Col(V50, NOT_NULL),
        "performed_by_user_id": Col(UUID_T, NOT_NULL, references=USER),
        "timestamp": STAMP,
        "details": Col(TEXT, NULL),
    },
    "stock_adjustments": {
        "id": ID,
        "inventory_id": Col(UUID_T, NOT_NULL, references="inventory.id"),
        "user_id": Col(UUID_T, NOT_NULL, references=USER),
        "adjustment_date": STAMP,
        "quantity_adjusted": Col(QTY, NOT_NULL),
        "reason_code": Col(V100, NOT_NULL),
        "notes": Col(TEXT, NULL),
        "created_at": STAMP,
        "updated_at": STAMP,
    },
    "transaction_approvals": {
        "id": ID,
        "transaction_id": Col(UUID_T, NOT_NULL, references="transactions.id"),
        "approver_id": Col(UUID_T, NOT_NULL, references=USER),
        "status": Col("transaction_approval_status_enum", NOT_NULL),
        "notes": Col(TEXT, NULL),
        "created_at": STAMP,
    },
}

# Inline UNIQUE gets PostgreSQL's default name; the spec names the two table-level ones.
EXPECTED_UNIQUE: dict[str, tuple[str, tuple[str, ...]]] = {
    "organizations_name_key": ("organizations", ("name",)),
    "users_username_key": ("users", ("username",)),
    "users_email_key": ("users", ("email",)),
    "_org_warehouse_name_uc": ("warehouses", ("organization_id", "name")),
    "parts_part_number_key": ("parts", ("part_number",)),
    "_warehouse_part_uc": ("inventory", ("warehouse_id", "part_id")),
    "machines_serial_number_key": ("machines", ("serial_number",)),
    "user_sessions_session_token_key": ("user_sessions", ("session_token",)),
}

EXPECTED_INDEXES: dict[str, Index] = {
    "idx_organizations_type": Index("organizations", ("organization_type",)),
    "idx_organizations_parent": Index("organizations", ("parent_organization_id",)),
    "idx_organizations_name": Index("organizations", ("name",)),
    "idx_organizations_active": Index("organizations", ("is_active",)),
    "idx_users_org_role": Index("users", ("organization_id", "role")),
    "idx_users_email": Index("users", ("email",)),
    "idx_users_username": Index("users", ("username",)),
    "idx_users_status": Index("users", ("user_status",)),
    "idx_users_invitation_token": Index("users", ("invitation_token",)),
    "idx_warehouses_org": Index("warehouses", ("organization_id",)),
    "idx_warehouses_active": Index("warehouses", ("is_active",)),
    "idx_parts_number": Index("parts", ("part_number",)),
    "idx_parts_type": Index("parts", ("part_type",)),
    "idx_parts_proprietary": Index("parts", ("is_proprietary",)),
    "idx_parts_name": Index("parts", ("name",)),
    "idx_inventory_warehouse_part": Index("inventory", ("warehouse_id", "part_id")),
    "idx_inventory_stock": Index("inventory", ("current_stock",)),
    "idx_inventory_low_stock": Index("inventory", ("current_stock", "minimum_stock_recommendation")),
    "idx_machines_customer": Index("machines", ("customer_organization_id",)),
    "idx_machines_serial": Index("machines", ("serial_number",)),
    "idx_machines_status": Index("machines", ("status",)),
    "idx_transactions_date": Index("transactions", ("transaction_date",)),
    "idx_transactions_part": Index("transactions", ("part_id",)),
    "idx_transactions_type": Index("transactions", ("transaction_type",)),
    "idx_transactions_warehouse": Index("transactions", ("from_warehouse_id", "to_warehouse_id")),
    "idx_transactions_machine": Index("transactions", ("machine_id",)),
    "idx_transactions_user": Index("transactions", ("performed_by_user_id",)),
    "idx_transactions_approval": Index("transactions", ("requires_approval", "approval_status")),
    "idx_customer_orders_customer": Index("customer_orders", ("customer_organization_id",)),
    "idx_customer_orders_date": Index("customer_orders", ("order_date",)),
    "idx_customer_orders_status": Index("customer_orders", ("status",)),
    "idx_customer_order_items_order": Index("customer_order_items", ("customer_order_id",)),
    "idx_customer_order_items_part": Index("customer_order_items", ("part_id",)),
    "idx_supplier_orders_org": Index("supplier_orders", ("ordering_organization_id",)),
    "idx_supplier_orders_date": Index("supplier_orders", ("order_date",)),
    "idx_supplier_orders_status": Index("supplier_orders", ("status",)),
    "idx_supplier_order_items_order": Index("supplier_order_items", ("supplier_order_id",)),
    "idx_supplier_order_items_part": Index("supplier_order_items", ("part_id",)),
    "idx_part_usage_customer": Index("part_usage", ("customer_organization_id",)),
    "idx_part_usage_part": Index("part_usage", ("part_id",)),
    "idx_part_usage_date": Index("part_usage", ("usage_date",)),
    "idx_part_usage_machine": Index("part_usage", ("machine_id",)),
    "idx_security_events_user": Index("security_events", ("user_id",)),
    "idx_security_events_type": Index("security_events", ("event_type",)),
    "idx_security_events_timestamp": Index("security_events", ("timestamp",)),
    "idx_security_events_risk": Index("security_events", ("risk_level",)),
    "idx_user_sessions_user": Index("user_sessions", ("user_id",)),
    "idx_user_sessions_token": Index("user_sessions", ("session_token",)),
    "idx_user_sessions_expires": Index("user_sessions", ("expires_at",)),
    "idx_user_sessions_active": Index("user_sessions", ("is_active",)),
    "idx_invitation_audit_user": Index("invitation_audit_logs", ("user_id",)),
    "idx_invitation_audit_action": Index("invitation_audit_logs", ("action",)),
    "idx_invitation_audit_timestamp": Index("invitation_audit_logs", ("timestamp",)),
    "idx_user_mgmt_audit_user": Index("user_management_audit_logs", ("user_id",)),
    "idx_user_mgmt_audit_action": Index("user_management_audit_logs", ("action",)),
    "idx_user_mgmt_audit_timestamp": Index("user_management_audit_logs", ("timestamp",)),
    "idx_stock_adjustments_inventory": Index("stock_adjustments", ("inventory_id",)),
    "idx_stock_adjustments_user": Index("stock_adjustments", ("user_id",)),
    "idx_stock_adjustments_date": Index("stock_adjustments", ("adjustment_date",)),
    "idx_stock_adjustments_reason": Index("stock_adjustments", ("reason_code",)),
    "idx_transaction_approvals_transaction": Index("transaction_approvals", ("transaction_id",)),
    "idx_transaction_approvals_approver": Index("transaction_approvals", ("approver_id",)),
    "idx_transaction_approvals_status": Index("transaction_approvals", ("status",)),
    # Critical Indexes for Scale
    "idx_organizations_hierarchy": Index("organizations", ("parent_organization_id", "organization_type")),
    "idx_users_auth": Index("users", ("email", "password_hash"), where="(is_active = true)"),
    "idx_users_org_active": Index("users", ("organization_id", "is_active", "role")),
    "idx_inventory_warehouse_stock": Index("inventory", ("warehouse_id", "current_stock")),
    "idx_inventory_part_stock": Index("inventory", ("part_id", "current_stock")),
    "idx_transactions_date_type": Index("transactions", ("transaction_date", "transaction_type")),
    "idx_transactions_part_date": Index("transactions", ("part_id", "transaction_date")),
    "idx_part_usage_machine_date": Index("part_usage", ("machine_id", "usage_date")),
    "idx_customer_orders_org_status": Index("customer_orders", ("customer_organization_id", "status")),
}

# pg_get_constraintdef's normal form; identical on PostgreSQL 15 and 18.
EXPECTED_CHECKS: dict[str, tuple[str, str]] = {
    "supplier_must_have_parent": (
        "organizations",
        "CHECK (((organization_type <> 'supplier'::organization_type_enum)"
        " OR (parent_organization_id IS NOT NULL)))",
    ),
    "organization_not_own_parent": ("organizations", "CHECK ((parent_organization_id IS DISTINCT FROM id))"),
    "positive_quantity": ("transactions", "CHECK ((quantity > (0)::numeric))"),
    "valid_transaction_warehouses": (
        "transactions",
        "CHECK ((((transaction_type = 'creation'::transaction_type_enum)"
        " AND (from_warehouse_id IS NULL) AND (to_warehouse_id IS NOT NULL))"
        " OR ((transaction_type = 'consumption'::transaction_type_enum)"
        " AND (from_warehouse_id IS NOT NULL) AND (to_warehouse_id IS NULL))"
        " OR ((transaction_type = 'transfer'::transaction_type_enum)"
        " AND (from_warehouse_id IS NOT NULL) AND (to_warehouse_id IS NOT NULL))"
        " OR (transaction_type = 'adjustment'::transaction_type_enum)))",
    ),
}

EXPECTED_TRIGGERS: dict[str, tuple[str, str]] = {
    "machine_customer_only": (
        "machines",
        "CREATE TRIGGER machine_customer_only BEFORE INSERT OR UPDATE OF customer_organization_id"
        " ON public.machines FOR EACH ROW EXECUTE FUNCTION machine_customer_only()",
    ),
    "machine_owner_stays_customer": (
        "organizations",
        "CREATE TRIGGER machine_owner_stays_customer BEFORE UPDATE OF organization_type"
        " ON public.organizations FOR EACH ROW EXECUTE FUNCTION machine_owner_stays_customer()",
    ),
}

EXPECTED_FUNCTIONS: dict[str, tuple[str, str]] = {
    "machine_customer_only": ("trigger", "plpgsql"),
    "machine_owner_stays_customer": ("trigger", "plpgsql"),
}

EXPECTED_VIEWS: dict[str, tuple[tuple[str, str], ...]] = {
    "organization_hierarchy": (
        ("id", UUID_T),
        ("name", V255),
        ("organization_type", "organization_type_enum"),
        ("parent_organization_id", UUID_T),
        ("level", INT),
    ),
    "inventory_summary": (
        ("warehouse_id", UUID_T),
        ("warehouse_name", V255),
        ("organization_id", UUID_T),
        ("organization_name", V255),
        ("total_parts", "bigint"),
        ("low_stock_parts", "bigint"),
        ("total_value", "numeric"),
    ),
    "machine_usage_summary": (
        ("machine_id", UUID_T),
        ("machine_name", V255),
        ("serial_number", V255),
        ("customer_organization_id", UUID_T),
        ("customer_name", V255),
        ("total_usage_records", "bigint"),
        ("last_usage_date", TSTZ),
        ("total_parts_consumed", "numeric"),
    ),
}

EXPECTED_ENUMS: dict[str, tuple[str, ...]] = {
    "organization_type_enum": ("oraseas_ee", "bossaqua", "customer", "supplier"),
    "user_role_enum": ("user", "admin", "super_admin"),
    "user_status_enum": ("active", "inactive", "pending_invitation", "locked"),
    "part_type_enum": ("consumable", "bulk_material"),
    "machine_status_enum": ("active", "inactive", "maintenance", "decommissioned"),
    "transaction_type_enum": ("creation", "transfer", "consumption", "adjustment"),
    "transaction_approval_status_enum": ("pending", "approved", "rejected"),
}


# Columns a later migration adds to the spec's tables (0005: order progress; 0012: reservations), absent
# after 0001 alone.
LATER_COLUMNS = {
    ("inventory", "reserved_stock"),
    ("customer_order_items", "shipped_quantity"),
    ("customer_order_items", "received_quantity"),
    ("supplier_order_items", "received_quantity"),
    ("supplier_orders", "supplier_organization_id"),
}


# Indexes a later migration adds to the spec's tables (0007: emails unique whatever their case;
# 0014: each newest-first list's keyset order, (moment, id)).
LATER_INDEXES: dict[str, Index] = {
    "users_email_lower_key": Index("users", ("lower(email::text)",), unique=True),
    "idx_transactions_keyset": Index("transactions", ("transaction_date", "id")),
    "idx_part_usage_keyset": Index("part_usage", ("usage_date", "id")),
    "idx_stock_adjustments_keyset": Index("stock_adjustments", ("adjustment_date", "id")),
    "idx_transaction_approvals_keyset": Index("transaction_approvals", ("created_at", "id")),
    "idx_customer_orders_keyset": Index("customer_orders", ("order_date", "id")),
    "idx_supplier_orders_keyset": Index("supplier_orders", ("order_date", "id")),
}


# 0015: a NOTIFY after each statement writing the reference data GET /inventory's pages show.
LATER_TRIGGERS: dict[str, tuple[str, str]] = {
    f"{t}_notify_reference_data": (
        t,
        f"CREATE TRIGGER {t}_notify_reference_data AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE"
        f" ON public.{t} FOR EACH STATEMENT EXECUTE FUNCTION notify_reference_data()",
    )
    for t in ("parts", "warehouses", "organizations")
}
LATER_FUNCTIONS: dict[str, tuple[str, str]] = {"notify_reference_data": ("trigger", "plpgsql")}


def expected_catalog(spec_migration_only: bool = False) -> Catalog:
    """The spec in the same shape as read_catalog's answer (at head, or after the spec's migration only)."""
    tables = {
        t: {c: col for c, col in cols.items() if not (spec_migration_only and (t, c) in LATER_COLUMNS)}
        for t, cols in EXPECTED_TABLES.items()
    }
    return {
        "table": {t: tuple(cols) for t, cols in tables.items()},
        "column": {f"{t}.{c}": col for t, cols in tables.items() for c, col in cols.items()},
        "multi-column foreign key": {},
        "primary key": {f"{t}_pkey": (t, ("id",)) for t in EXPECTED_TABLES},
        "unique constraint": dict(EXPECTED_UNIQUE),
        "index": dict(EXPECTED_INDEXES if spec_migration_only else EXPECTED_INDEXES | LATER_INDEXES),
        "check constraint": dict(EXPECTED_CHECKS),
        "trigger": dict(EXPECTED_TRIGGERS if spec_migration_only else EXPECTED_TRIGGERS | LATER_TRIGGERS),
        "function": dict(EXPECTED_FUNCTIONS if spec_migration_only else EXPECTED_FUNCTIONS | LATER_FUNCTIONS),
        "view": dict(EXPECTED_VIEWS),
        "enum": dict(EXPECTED_ENUMS),
    }


COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname = ANY(%(tables)s)
ORDER BY c.relname, a.attnum
"""
# Keys of a constraint, in key order, as column names.
_KEYS = """ARRAY(SELECT a.attname FROM unnest({keys}) WITH ORDINALITY AS key(n, i)
             JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = key.n ORDER BY key.i)"""
FOREIGN_KEYS = f"""
SELECT t.relname, {_KEYS.format(keys="k.conkey", rel="k.conrelid")}, r.relname,
       {_KEYS.format(keys="k.confkey", rel="k.confrelid")}, k.confupdtype, k.confdeltype
FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
WHERE k.contype = 'f' AND t.relnamespace = 'public'::regnamespace AND t.relname = ANY(%(tables)s)
"""
KEY_CONSTRAINTS = f"""
SELECT k.conname, k.contype, t.relname, {_KEYS.format(keys="k.conkey", rel="k.conrelid")}
FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
WHERE k.contype IN ('p', 'u') AND t.relnamespace = 'public'::regnamespace AND t.relname = ANY(%(tables)s)
"""
# Indexes that back a primary key or unique constraint are compared as those constraints.
INDEXES = """
SELECT i.relname, t.relname,
       ARRAY(SELECT coalesce(a.attname, pg_get_indexdef(x.indexrelid, k.i::int, true))
             FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(n, i)
             LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n AND k.n > 0
             ORDER BY k.i),
       pg_get_expr(x.indpred, x.indrelid), x.indisunique, am.amname
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_am am ON am.oid = i.relam
WHERE t.relnamespace = 'public'::regnamespace AND t.relname = ANY(%(tables)s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)
"""
# contype 'c' only: PostgreSQL 18 also lists NOT NULL constraints (contype 'n') in pg_constraint.
CHECKS = """
SELECT k.conname, t.relname, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
WHERE k.contype = 'c' AND t.relnamespace = 'public'::regnamespace AND t.relname = ANY(%(tables)s)
"""
TRIGGERS = """
SELECT g.tgname, t.relname, pg_get_triggerdef(g.oid)
FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
WHERE NOT g.tgisinternal AND t.relnamespace = 'public'::regnamespace AND t.relname = ANY(%(tables)s)
"""
FUNCTIONS = """
SELECT p.proname, pg_get_function_result(p.oid), l.lanname
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'public'::regnamespace AND p.proname = ANY(%(functions)s)
"""
VIEW_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v' AND c.relname = ANY(%(views)s)
ORDER BY c.relname, a.attnum
"""
ENUMS = """
SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
WHERE t.typnamespace = 'public'::regnamespace AND t.typname = ANY(%(enums)s)
GROUP BY t.typname
"""


def read_catalog(conn: Conn) -> Catalog:
    """What pg_catalog reports for the spec's tables, views, enums and functions."""
    names = {
        "tables": list(EXPECTED_TABLES),
        "views": list(EXPECTED_VIEWS),
        "enums": list(EXPECTED_ENUMS),
        "functions": list(EXPECTED_FUNCTIONS | LATER_FUNCTIONS),
    }

    def rows(query: str) -> list[tuple[Any, ...]]:
        return conn.execute(query, names).fetchall()

    references: dict[str, list[str]] = {}
    multi_column: dict[str, object] = {}
    for table, cols, ref_table, ref_cols, on_update, on_delete in rows(FOREIGN_KEYS):
        target = f"{ref_table}.{','.join(ref_cols)}"
        if (on_update, on_delete) != ("a", "a"):
            target += f" (on update {on_update}, on delete {on_delete})"
        if len(cols) == 1:
            references.setdefault(f"{table}.{cols[0]}", []).append(target)
        else:
            multi_column[f"{table}({','.join(cols)})"] = target
    columns: dict[str, object] = {}
    tables: dict[str, list[str]] = {}
    for table, column, type_, nullable, default in rows(COLUMNS):
        key = f"{table}.{column}"
        ref = ", ".join(sorted(references.get(key, []))) or None
        columns[key] = Col(type_, nullable, default, ref)
        tables.setdefault(table, []).append(column)
    keys = rows(KEY_CONSTRAINTS)
    view_columns: dict[str, list[tuple[str, str]]] = {}
    for view, column, type_ in rows(VIEW_COLUMNS):
        view_columns.setdefault(view, []).append((column, type_))
    return {
        "table": {t: tuple(cols) for t, cols in tables.items()},
        "column": columns,
        "multi-column foreign key": multi_column,
        "primary key": {name: (t, tuple(cols)) for name, kind, t, cols in keys if kind == "p"},
        "unique constraint": {name: (t, tuple(cols)) for name, kind, t, cols in keys if kind == "u"},
        "index": {
            name: Index(t, tuple(cols), where, unique, method)
            for name, t, cols, where, unique, method in rows(INDEXES)
        },
        "check constraint": {name: (t, d) for name, t, d in rows(CHECKS)},
        "trigger": {name: (t, d) for name, t, d in rows(TRIGGERS)},
        "function": {name: (result, lang) for name, result, lang in rows(FUNCTIONS)},
        "view": {v: tuple(cols) for v, cols in view_columns.items()},
        "enum": {name: tuple(labels) for name, labels in rows(ENUMS)},
    }


def differences(expected: Catalog, actual: Catalog) -> list[str]:
    """One readable line per missing, unexpected or differing object."""
    problems: list[str] = []
    for section, want in expected.items():
        have: Mapping[str, object] = actual.get(section, {})
        for key in sorted(want.keys() - have.keys()):
            problems.append(f"missing {section} {key}: expected {want[key]!r}")
        for key in sorted(have.keys() - want.keys()):
            problems.append(f"unexpected {section} {key}: {have[key]!r}")
        for key in sorted(want.keys() & have.keys()):
            if want[key] != have[key]:
                problems.append(f"{section} {key}:\n    expected {want[key]!r}\n    found    {have[key]!r}")
    return problems


def assert_matches_spec(conn: Conn, spec_migration_only: bool = False) -> None:
    problems = differences(expected_catalog(spec_migration_only), read_catalog(conn))
    assert not problems, "schema differs from the spec:\n" + "\n".join(problems)


def test_the_migrated_schema_matches_the_spec(conn: Conn) -> None:
    assert_matches_spec(conn)


def test_the_comparison_reports_each_kind_of_difference(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE parts ALTER COLUMN unit_of_measure SET DEFAULT 'units'")
        conn.execute("ALTER TABLE users ALTER COLUMN name SET NOT NULL")
        conn.execute("ALTER TABLE machines ALTER COLUMN notes TYPE varchar(10)")
        conn.execute("ALTER TABLE organizations DROP COLUMN contact_info")
        conn.execute("ALTER TABLE warehouses ADD COLUMN capacity integer")
        conn.execute("DROP INDEX idx_users_auth")
        conn.execute("CREATE INDEX idx_parts_name_2 ON parts(name)")
        conn.execute("ALTER TABLE transactions DROP CONSTRAINT positive_quantity")
        conn.execute("ALTER TABLE inventory DROP CONSTRAINT _warehouse_part_uc")
        conn.execute("ALTER TYPE user_role_enum ADD VALUE 'guest'")
        conn.execute("DROP VIEW machine_usage_summary")
        conn.execute("DROP TRIGGER machine_owner_stays_customer ON organizations")
        conn.execute("DROP FUNCTION machine_owner_stays_customer()")
        conn.execute("ALTER TABLE transactions DROP CONSTRAINT transactions_machine_id_fkey")
        problems = "\n".join(differences(expected_catalog(), read_catalog(conn)))
    for expected in (
        "column parts.unit_of_measure:",
        "column users.name:",
        "column machines.notes:",
        "missing column organizations.contact_info",
        "unexpected column warehouses.capacity",
        "missing index idx_users_auth",
        "unexpected index idx_parts_name_2",
        "missing check constraint positive_quantity",
        "missing unique constraint _warehouse_part_uc",
        "enum user_role_enum:",
        "missing view machine_usage_summary",
        "missing trigger machine_owner_stays_customer",
        "missing function machine_owner_stays_customer",
        "column transactions.machine_id:",
        "table organizations:",
    ):
        assert expected in problems, f"{expected!r} not reported in:\n{problems}"


# --- the views on a small data set ---------------------------------------------------------


@pytest.fixture
def own_conn(fresh_db_url: str) -> Iterator[Conn]:
    """An autocommit connection to a database of this test's own.

    For rows the shared database should not hold: the spec's singletons (oraseas_ee,
    bossaqua) and organizations that change type.
    """
    with psycopg.connect(fresh_db_url, autocommit=True) as connection:
        yield connection


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


def insert(conn: Conn, table: str, **values: object) -> UUID:
    """Insert one row and return its id."""
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    row = conn.execute(query, list(values.values())).fetchone()
    assert row is not None and isinstance(row[0], UUID)
    return row[0]


def organization(conn: Conn, kind: str, parent: UUID | None = None) -> UUID:
    return insert(
        conn, "organizations", name=unique(kind), organization_type=kind, parent_organization_id=parent
    )


def warehouse(conn: Conn, org: UUID, *, active: bool = True) -> UUID:
    return insert(conn, "warehouses", organization_id=org, name=unique("wh"), is_active=active)


def part(conn: Conn, price: str | None = None) -> UUID:
    return insert(
        conn, "parts", part_number=unique("P"), name="part", unit_price=Decimal(price) if price else None
    )


def machine(conn: Conn, owner: UUID) -> UUID:
    return insert(
        conn,
        "machines",
        customer_organization_id=owner,
        model_type="V4.0",
        name="m",
        serial_number=unique("SN"),
    )


def stock(conn: Conn, wh: UUID, item: UUID, current: str, minimum: str) -> UUID:
    return insert(
        conn,
        "inventory",
        warehouse_id=wh,
        part_id=item,
        current_stock=Decimal(current),
        minimum_stock_recommendation=Decimal(minimum),
        unit_of_measure="pieces",
    )


def test_organization_hierarchy_gives_each_organization_its_depth(own_conn: Conn) -> None:
    conn = own_conn
    oraseas = organization(conn, "oraseas_ee")
    supplier = organization(conn, "supplier", parent=oraseas)
    customer = organization(conn, "customer", parent=oraseas)
    customers_supplier = organization(conn, "supplier", parent=customer)
    rows = conn.execute(
        "SELECT id, parent_organization_id, organization_type::text, level FROM organization_hierarchy"
        " WHERE id = ANY(%s)",
        [[oraseas, supplier, customer, customers_supplier]],
    ).fetchall()
    assert sorted(rows, key=lambda r: (r[3], r[2])) == [
        (oraseas, None, "oraseas_ee", 0),
        (customer, oraseas, "customer", 1),
        (supplier, oraseas, "supplier", 1),
        (customers_supplier, customer, "supplier", 2),
    ]


def test_inventory_summary_counts_low_stock_and_values_active_warehouses(conn: Conn) -> None:
    org = organization(conn, "customer")
    main, closed, empty = warehouse(conn, org), warehouse(conn, org, active=False), warehouse(conn, org)
    priced, unpriced, cheap = part(conn, "2.50"), part(conn), part(conn, "1.00")
    stock(conn, main, priced, current="10", minimum="5")  # 25.00, above its minimum
    stock(conn, main, unpriced, current="3", minimum="3")  # no price counts as 0; at minimum is low
    stock(conn, main, cheap, current="1.5", minimum="4")  # 1.50, below minimum
    stock(conn, closed, priced, current="100", minimum="0")
    rows = conn.execute(
        "SELECT warehouse_id, organization_id, total_parts, low_stock_parts, total_value"
        " FROM inventory_summary WHERE warehouse_id = ANY(%s)",
        [[main, closed, empty]],
    ).fetchall()
    assert rows == [(main, org, 3, 2, Decimal("26.50"))]


def test_machine_usage_summary_aggregates_part_usage_per_machine(conn: Conn) -> None:
    customer = organization(conn, "customer")
    wh, item = warehouse(conn, customer), part(conn)
    used, idle = machine(conn, customer), machine(conn, customer)
    first = datetime(2025, 1, 10, tzinfo=UTC)
    for when, quantity, on in (
        (first, "2", used),
        (first + timedelta(days=5), "1.5", used),
        (first, "7", None),
    ):
        insert(
            conn,
            "part_usage",
            customer_organization_id=customer,
            part_id=item,
            warehouse_id=wh,
            usage_date=when,
            quantity=Decimal(quantity),
            machine_id=on,
        )
    rows = conn.execute(
        "SELECT machine_id, customer_organization_id, total_usage_records, last_usage_date,"
        " total_parts_consumed FROM machine_usage_summary WHERE machine_id = ANY(%s)",
        [[used, idle]],
    ).fetchall()
    assert sorted(rows, key=lambda r: -r[2]) == [
        (used, customer, 2, first + timedelta(days=5), Decimal("3.5")),
        (idle, customer, 0, None, None),
    ]


# --- business rules ------------------------------------------------------------------------


def test_a_supplier_needs_a_parent(conn: Conn) -> None:
    with pytest.raises(errors.CheckViolation) as refused:
        organization(conn, "supplier")
    assert refused.value.diag.constraint_name == "supplier_must_have_parent"


def test_an_organization_cannot_be_its_own_parent(conn: Conn) -> None:
    org = organization(conn, "customer")
    with pytest.raises(errors.CheckViolation) as refused:
        conn.execute("UPDATE organizations SET parent_organization_id = id WHERE id = %s", [org])
    assert refused.value.diag.constraint_name == "organization_not_own_parent"


@dataclass
class Site:
    """A customer with a user, two warehouses and a part: enough to record transactions."""

    conn: Conn
    user: UUID
    a: UUID
    b: UUID
    part: UUID

    def record(self, kind: str, source: str | None, target: str | None, quantity: str) -> None:
        place = {"a": self.a, "b": self.b, None: None}
        insert(
            self.conn,
            "transactions",
            transaction_type=kind,
            part_id=self.part,
            from_warehouse_id=place[source],
            to_warehouse_id=place[target],
            quantity=Decimal(quantity),
            unit_of_measure="pieces",
            performed_by_user_id=self.user,
            transaction_date=datetime.now(UTC),
        )


@pytest.fixture
def site(conn: Conn) -> Site:
    org = organization(conn, "customer")
    user = insert(
        conn,
        "users",
        organization_id=org,
        username=unique("u"),
        password_hash="x",
        email=f"{unique('u')}@example.com",
        role="admin",
    )
    return Site(conn, user, warehouse(conn, org), warehouse(conn, org), part(conn))


@pytest.mark.parametrize(
    ("kind", "source", "target", "quantity", "constraint"),
    [
        pytest.param("creation", None, "a", "0", "positive_quantity", id="zero quantity"),
        pytest.param("adjustment", None, None, "-1", "positive_quantity", id="negative quantity"),
        pytest.param("creation", "a", "b", "1", "valid_transaction_warehouses", id="creation with a from"),
        pytest.param("creation", None, None, "1", "valid_transaction_warehouses", id="creation without to"),
        pytest.param(
            "consumption", None, None, "1", "valid_transaction_warehouses", id="consumption no from"
        ),
        pytest.param(
            "consumption", "a", "b", "1", "valid_transaction_warehouses", id="consumption with a to"
        ),
        pytest.param("transfer", "a", None, "1", "valid_transaction_warehouses", id="transfer without to"),
        pytest.param("transfer", None, "b", "1", "valid_transaction_warehouses", id="transfer without from"),
    ],
)
def test_transactions_refuse_bad_quantities_and_warehouses(
    site: Site, kind: str, source: str | None, target: str | None, quantity: str, constraint: str
) -> None:
    with pytest.raises(errors.CheckViolation) as refused:
        site.record(kind, source, target, quantity)
    assert refused.value.diag.constraint_name == constraint


@pytest.mark.parametrize(
    ("kind", "source", "target"),
    [
        ("creation", None, "a"),
        ("consumption", "a", None),
        ("transfer", "a", "b"),
        ("adjustment", None, None),
        ("adjustment", "a", None),
    ],
)
def test_transactions_accept_well_formed_movements(
    site: Site, kind: str, source: str | None, target: str | None
) -> None:
    site.record(kind, source, target, "0.001")


@pytest.mark.parametrize("owner_type", ["supplier", "oraseas_ee", "bossaqua"])
def test_only_a_customer_can_own_a_machine(own_conn: Conn, owner_type: str) -> None:
    conn = own_conn
    parent = organization(conn, "oraseas_ee") if owner_type == "supplier" else None
    owner = organization(conn, owner_type, parent=parent)
    with pytest.raises(errors.CheckViolation, match="machine_customer_only") as refused:
        machine(conn, owner)
    assert refused.value.diag.constraint_name == "machine_customer_only"


def test_a_customer_owns_a_machine_but_cannot_hand_it_to_a_supplier(conn: Conn) -> None:
    customer = organization(conn, "customer")
    owned = machine(conn, customer)
    supplier = organization(conn, "supplier", parent=customer)
    with pytest.raises(errors.CheckViolation, match="machine_customer_only"):
        conn.execute("UPDATE machines SET customer_organization_id = %s WHERE id = %s", [supplier, owned])
    row = conn.execute("SELECT customer_organization_id FROM machines WHERE id = %s", [owned]).fetchone()
    assert row == (customer,)


def test_a_machine_owner_cannot_stop_being_a_customer(own_conn: Conn) -> None:
    conn = own_conn
    owner, other = organization(conn, "customer"), organization(conn, "customer")
    machine(conn, owner)
    change = "UPDATE organizations SET organization_type = 'bossaqua' WHERE id = %s"
    with pytest.raises(errors.CheckViolation, match="machine_customer_only") as refused:
        conn.execute(change, [owner])
    assert refused.value.diag.constraint_name == "machine_customer_only"
    conn.execute(change, [other])  # a customer without machines may change type
    conn.execute("UPDATE organizations SET organization_type = 'customer' WHERE id = %s", [owner])
    types = conn.execute(
        "SELECT organization_type::text FROM organizations WHERE id = ANY(%s) ORDER BY organization_type",
        [[owner, other]],
    ).fetchall()
    assert types == [("bossaqua",), ("customer",)]


def race(
    db_url: str, first: Callable[[Conn], object], second: Callable[[Conn], object]
) -> BaseException | None:
    """Return what `second` raised (or None) when it runs while `first`'s transaction is still open.

    `first` runs in a transaction left open; `second` starts on another connection and is given
    up to 10 s to block on a lock; then `first` commits and `second` finishes.
    """
    outcome: list[BaseException | None] = []

    def run_second(conn: Conn) -> None:
        try:
            second(conn)
            outcome.append(None)
        except psycopg.Error as exc:
            outcome.append(exc)

    with psycopg.connect(db_url) as one, psycopg.connect(db_url, autocommit=True) as two:
        first(one)
        thread = threading.Thread(target=run_second, args=(two,))
        thread.start()
        with psycopg.connect(db_url, autocommit=True) as watcher:
            deadline = time.monotonic() + 10
            while thread.is_alive() and time.monotonic() < deadline:
                row = watcher.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [two.info.backend_pid]
                ).fetchone()
                if row == ("Lock",):
                    break
                time.sleep(0.02)
        one.commit()
        thread.join(timeout=30)
    assert len(outcome) == 1, "the second transaction did not finish"
    return outcome[0]


def test_a_type_change_waits_for_a_new_machine_then_is_refused(fresh_db_url: str, own_conn: Conn) -> None:
    owner = organization(own_conn, "customer")
    refused = race(
        fresh_db_url,
        lambda one: machine(one, owner),
        lambda two: two.execute(
            "UPDATE organizations SET organization_type = 'bossaqua' WHERE id = %s", [owner]
        ),
    )
    assert isinstance(refused, errors.CheckViolation), refused
    assert refused.diag.constraint_name == "machine_customer_only"


def test_a_new_machine_waits_for_a_type_change_then_is_refused(fresh_db_url: str, own_conn: Conn) -> None:
    owner = organization(own_conn, "customer")
    refused = race(
        fresh_db_url,
        lambda one: one.execute(
            "UPDATE organizations SET organization_type = 'bossaqua' WHERE id = %s", [owner]
        ),
        lambda two: machine(two, owner),
    )
    assert isinstance(refused, errors.CheckViolation), refused
    assert refused.diag.constraint_name == "machine_customer_only"


# --- the migration round trip --------------------------------------------------------------

# Everything in schema public except alembic's own bookkeeping table. Foreign keys' internal
# triggers are named after oids, so they are left out: their constraints are listed instead.
PUBLIC_OBJECTS = """
SELECT 'relation ' || relname || ' (' || relkind::text || ')' FROM pg_class
WHERE relnamespace = 'public'::regnamespace AND relname NOT LIKE 'alembic_version%'
UNION ALL
SELECT 'type ' || typname FROM pg_type
WHERE typnamespace = 'public'::regnamespace AND typrelid = 0 AND typcategory <> 'A'
UNION ALL
SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'trigger ' || tgname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
WHERE c.relnamespace = 'public'::regnamespace AND NOT g.tgisinternal
UNION ALL
SELECT 'constraint ' || conname FROM pg_constraint
WHERE connamespace = 'public'::regnamespace AND conname NOT LIKE 'alembic_version%'
ORDER BY 1
"""


def public_objects(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute(PUBLIC_OBJECTS).fetchall()]


def check_spec_schema(url: str, revision: str) -> None:
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(revision,)]
        assert_matches_spec(conn, spec_migration_only=revision == "0001_spec_schema")


def test_the_spec_migration_alone_creates_and_removes_the_whole_schema(empty_db_url: str) -> None:
    before = public_objects(empty_db_url)
    migrate(empty_db_url, "0001_spec_schema")
    check_spec_schema(empty_db_url, "0001_spec_schema")
    created = set(public_objects(empty_db_url))
    ours = [f"relation {t} (r)" for t in EXPECTED_TABLES] + [f"relation {v} (v)" for v in EXPECTED_VIEWS]
    ours += [f"type {e}" for e in EXPECTED_ENUMS] + [f"function {f}" for f in EXPECTED_FUNCTIONS]
    ours += [f"trigger {t}" for t in EXPECTED_TRIGGERS] + [f"relation {i} (i)" for i in EXPECTED_INDEXES]
    assert set(ours) <= created, f"not seen by the inventory query: {sorted(set(ours) - created)}"
    downgrade(empty_db_url, "base")
    assert public_objects(empty_db_url) == before


def test_upgrade_downgrade_upgrade_round_trip(empty_db_url: str) -> None:
    before = public_objects(empty_db_url)
    migrate(empty_db_url, "head")
    with psycopg.connect(empty_db_url) as conn:
        assert_matches_spec(conn)
    at_head = public_objects(empty_db_url)
    downgrade(empty_db_url, "base")
    assert public_objects(empty_db_url) == before
    migrate(empty_db_url, "head")
    with psycopg.connect(empty_db_url) as conn:
        assert_matches_spec(conn)
    assert public_objects(empty_db_url) == at_head
