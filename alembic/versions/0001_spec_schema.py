"""The ABParts reference schema, exactly as /work/shared/spec/abparts-schema.md gives it.

Creates the spec's enums, its eighteen tables with their indexes, the "Critical
Indexes for Scale", the spec's CHECK constraints and its three views. Where the
spec cannot be run as written, it is resolved here (see README, "The schema"):

- the enums are created before the tables that use them (the spec lists them after);
- parts gets a nullable unit_price DECIMAL(10,2), which inventory_summary reads;
- machine_customer_only is a CHECK with a subquery, which PostgreSQL refuses: two
  triggers enforce it instead, one on machines and one on organizations so that the
  rule cannot be broken from the organization side either;
- added: organization_not_own_parent, an organization cannot be its own parent.

Revision ID: 0001_spec_schema
Revises:
"""

from alembic import op

revision = "0001_spec_schema"
down_revision = None
branch_labels = None
depends_on = None

ENUMS = """
CREATE TYPE organization_type_enum AS ENUM ('oraseas_ee', 'bossaqua', 'customer', 'supplier');
CREATE TYPE user_role_enum AS ENUM ('user', 'admin', 'super_admin');
CREATE TYPE user_status_enum AS ENUM ('active', 'inactive', 'pending_invitation', 'locked');
CREATE TYPE part_type_enum AS ENUM ('consumable', 'bulk_material');
CREATE TYPE machine_status_enum AS ENUM ('active', 'inactive', 'maintenance', 'decommissioned');
CREATE TYPE transaction_type_enum AS ENUM ('creation', 'transfer', 'consumption', 'adjustment');
CREATE TYPE transaction_approval_status_enum AS ENUM ('pending', 'approved', 'rejected');
"""

CORE_TABLES = """
CREATE TABLE organizations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) UNIQUE NOT NULL,
    organization_type organization_type_enum NOT NULL,
    parent_organization_id UUID REFERENCES organizations(id),
    address TEXT,
    contact_info TEXT,
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_organizations_type ON organizations(organization_type);
CREATE INDEX idx_organizations_parent ON organizations(parent_organization_id);
CREATE INDEX idx_organizations_name ON organizations(name);
CREATE INDEX idx_organizations_active ON organizations(is_active);

CREATE TABLE users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id UUID NOT NULL REFERENCES organizations(id),
    username VARCHAR(255) UNIQUE NOT NULL,
    password_hash TEXT NOT NULL,
    email VARCHAR(255) UNIQUE NOT NULL,
    name VARCHAR(255),
    role user_role_enum NOT NULL,
    user_status user_status_enum NOT NULL DEFAULT 'active',
    failed_login_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP WITH TIME ZONE,
    last_login TIMESTAMP WITH TIME ZONE,
    invitation_token VARCHAR(255),
    invitation_expires_at TIMESTAMP WITH TIME ZONE,
    invited_by_user_id UUID REFERENCES users(id),
    password_reset_token VARCHAR(255),
    password_reset_expires_at TIMESTAMP WITH TIME ZONE,
    email_verification_token VARCHAR(255),
    email_verification_expires_at TIMESTAMP WITH TIME ZONE,
    pending_email VARCHAR(255),
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_users_org_role ON users(organization_id, role);
CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_username ON users(username);
CREATE INDEX idx_users_status ON users(user_status);
CREATE INDEX idx_users_invitation_token ON users(invitation_token);

CREATE TABLE warehouses (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id UUID NOT NULL REFERENCES organizations(id),
    name VARCHAR(255) NOT NULL,
    location VARCHAR(500),
    description TEXT,
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT _org_warehouse_name_uc UNIQUE (organization_id, name)
);
CREATE INDEX idx_warehouses_org ON warehouses(organization_id);
CREATE INDEX idx_warehouses_active ON warehouses(is_active);

-- unit_price is not in the spec's parts table, but its inventory_summary view reads p.unit_price.
CREATE TABLE parts (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    part_number VARCHAR(255) UNIQUE NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    part_type part_type_enum NOT NULL DEFAULT 'consumable',
    is_proprietary BOOLEAN NOT NULL DEFAULT false,
    unit_of_measure VARCHAR(50) NOT NULL DEFAULT 'pieces',
    manufacturer_part_number VARCHAR(255),
    manufacturer_delivery_time_days INTEGER,
    local_supplier_delivery_time_days INTEGER,
    image_urls TEXT[],
    unit_price DECIMAL(10,2),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_parts_number ON parts(part_number);
CREATE INDEX idx_parts_type ON parts(part_type);
CREATE INDEX idx_parts_proprietary ON parts(is_proprietary);
CREATE INDEX idx_parts_name ON parts(name);

CREATE TABLE inventory (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    warehouse_id UUID NOT NULL REFERENCES warehouses(id),
    part_id UUID NOT NULL REFERENCES parts(id),
    current_stock DECIMAL(10,3) NOT NULL DEFAULT 0,
    minimum_stock_recommendation DECIMAL(10,3) NOT NULL DEFAULT 0,
    unit_of_measure VARCHAR(50) NOT NULL,
    reorder_threshold_set_by VARCHAR(50),
    last_recommendation_update TIMESTAMP WITH TIME ZONE,
    last_updated TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT _warehouse_part_uc UNIQUE (warehouse_id, part_id)
);
CREATE INDEX idx_inventory_warehouse_part ON inventory(warehouse_id, part_id);
CREATE INDEX idx_inventory_stock ON inventory(current_stock);
CREATE INDEX idx_inventory_low_stock ON inventory(current_stock, minimum_stock_recommendation);

CREATE TABLE machines (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_organization_id UUID NOT NULL REFERENCES organizations(id),
    model_type VARCHAR(100) NOT NULL,
    name VARCHAR(255) NOT NULL,
    serial_number VARCHAR(255) UNIQUE NOT NULL,
    purchase_date TIMESTAMP WITH TIME ZONE,
    warranty_expiry_date TIMESTAMP WITH TIME ZONE,
    status machine_status_enum NOT NULL DEFAULT 'active',
    last_maintenance_date TIMESTAMP WITH TIME ZONE,
    next_maintenance_date TIMESTAMP WITH TIME ZONE,
    location VARCHAR(255),
    notes TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_machines_customer ON machines(customer_organization_id);
CREATE INDEX idx_machines_serial ON machines(serial_number);
CREATE INDEX idx_machines_status ON machines(status);

CREATE TABLE transactions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    transaction_type transaction_type_enum NOT NULL,
    part_id UUID NOT NULL REFERENCES parts(id),
    from_warehouse_id UUID REFERENCES warehouses(id),
    to_warehouse_id UUID REFERENCES warehouses(id),
    machine_id UUID REFERENCES machines(id),
    quantity DECIMAL(10,3) NOT NULL,
    unit_of_measure VARCHAR(50) NOT NULL,
    performed_by_user_id UUID NOT NULL REFERENCES users(id),
    transaction_date TIMESTAMP WITH TIME ZONE NOT NULL,
    notes TEXT,
    reference_number VARCHAR(100),
    requires_approval BOOLEAN NOT NULL DEFAULT false,
    approval_status VARCHAR(50),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_transactions_date ON transactions(transaction_date);
CREATE INDEX idx_transactions_part ON transactions(part_id);
CREATE INDEX idx_transactions_type ON transactions(transaction_type);
CREATE INDEX idx_transactions_warehouse ON transactions(from_warehouse_id, to_warehouse_id);
CREATE INDEX idx_transactions_machine ON transactions(machine_id);
CREATE INDEX idx_transactions_user ON transactions(performed_by_user_id);
CREATE INDEX idx_transactions_approval ON transactions(requires_approval, approval_status);
"""

SUPPORTING_TABLES = """
CREATE TABLE customer_orders (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_organization_id UUID NOT NULL REFERENCES organizations(id),
    oraseas_organization_id UUID NOT NULL REFERENCES organizations(id),
    order_date TIMESTAMP WITH TIME ZONE NOT NULL,
    expected_delivery_date TIMESTAMP WITH TIME ZONE,
    actual_delivery_date TIMESTAMP WITH TIME ZONE,
    status VARCHAR(50) NOT NULL,
    ordered_by_user_id UUID REFERENCES users(id),
    notes TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_customer_orders_customer ON customer_orders(customer_organization_id);
CREATE INDEX idx_customer_orders_date ON customer_orders(order_date);
CREATE INDEX idx_customer_orders_status ON customer_orders(status);

CREATE TABLE customer_order_items (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_order_id UUID NOT NULL REFERENCES customer_orders(id),
    part_id UUID NOT NULL REFERENCES parts(id),
    quantity DECIMAL(10,3) NOT NULL DEFAULT 1,
    unit_price DECIMAL(10,2),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_customer_order_items_order ON customer_order_items(customer_order_id);
CREATE INDEX idx_customer_order_items_part ON customer_order_items(part_id);

CREATE TABLE supplier_orders (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    ordering_organization_id UUID NOT NULL REFERENCES organizations(id),
    supplier_name VARCHAR(255) NOT NULL,
    order_date TIMESTAMP WITH TIME ZONE NOT NULL,
    expected_delivery_date TIMESTAMP WITH TIME ZONE,
    actual_delivery_date TIMESTAMP WITH TIME ZONE,
    status VARCHAR(50) NOT NULL,
    notes TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_supplier_orders_org ON supplier_orders(ordering_organization_id);
CREATE INDEX idx_supplier_orders_date ON supplier_orders(order_date);
CREATE INDEX idx_supplier_orders_status ON supplier_orders(status);

CREATE TABLE supplier_order_items (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    supplier_order_id UUID NOT NULL REFERENCES supplier_orders(id),
    part_id UUID NOT NULL REFERENCES parts(id),
    quantity DECIMAL(10,3) NOT NULL DEFAULT 1,
    unit_price DECIMAL(10,2),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_supplier_order_items_order ON supplier_order_items(supplier_order_id);
CREATE INDEX idx_supplier_order_items_part ON supplier_order_items(part_id);

CREATE TABLE part_usage (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_organization_id UUID NOT NULL REFERENCES organizations(id),
    part_id UUID NOT NULL REFERENCES parts(id),
    usage_date TIMESTAMP WITH TIME ZONE NOT NULL,
    quantity DECIMAL(10,3) NOT NULL DEFAULT 1,
    machine_id UUID REFERENCES machines(id),
    recorded_by_user_id UUID REFERENCES users(id),
    warehouse_id UUID NOT NULL REFERENCES warehouses(id),
    notes TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_part_usage_customer ON part_usage(customer_organization_id);
CREATE INDEX idx_part_usage_part ON part_usage(part_id);
CREATE INDEX idx_part_usage_date ON part_usage(usage_date);
CREATE INDEX idx_part_usage_machine ON part_usage(machine_id);
"""

SECURITY_AND_WORKFLOW_TABLES = """
CREATE TABLE security_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID REFERENCES users(id),
    event_type VARCHAR(50) NOT NULL,
    ip_address VARCHAR(45),
    user_agent TEXT,
    session_id VARCHAR(255),
    details TEXT,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    risk_level VARCHAR(20) NOT NULL DEFAULT 'low'
);
CREATE INDEX idx_security_events_user ON security_events(user_id);
CREATE INDEX idx_security_events_type ON security_events(event_type);
CREATE INDEX idx_security_events_timestamp ON security_events(timestamp);
CREATE INDEX idx_security_events_risk ON security_events(risk_level);

CREATE TABLE user_sessions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id),
    session_token VARCHAR(255) UNIQUE NOT NULL,
    ip_address VARCHAR(45),
    user_agent TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_activity TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    is_active BOOLEAN NOT NULL DEFAULT true
);
CREATE INDEX idx_user_sessions_user ON user_sessions(user_id);
CREATE INDEX idx_user_sessions_token ON user_sessions(session_token);
CREATE INDEX idx_user_sessions_expires ON user_sessions(expires_at);
CREATE INDEX idx_user_sessions_active ON user_sessions(is_active);

CREATE TABLE invitation_audit_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id),
    action VARCHAR(50) NOT NULL,
    performed_by_user_id UUID REFERENCES users(id),
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    details TEXT
);
CREATE INDEX idx_invitation_audit_user ON invitation_audit_logs(user_id);
CREATE INDEX idx_invitation_audit_action ON invitation_audit_logs(action);
CREATE INDEX idx_invitation_audit_timestamp ON invitation_audit_logs(timestamp);

CREATE TABLE user_management_audit_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id),
    action VARCHAR(50) NOT NULL,
    performed_by_user_id UUID NOT NULL REFERENCES users(id),
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    details TEXT
);
CREATE INDEX idx_user_mgmt_audit_user ON user_management_audit_logs(user_id);
CREATE INDEX idx_user_mgmt_audit_action ON user_management_audit_logs(action);
CREATE INDEX idx_user_mgmt_audit_timestamp ON user_management_audit_logs(timestamp);

CREATE TABLE stock_adjustments (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    inventory_id UUID NOT NULL REFERENCES inventory(id),
    user_id UUID NOT NULL REFERENCES users(id),
    adjustment_date TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    quantity_adjusted DECIMAL(10,3) NOT NULL,
    reason_code VARCHAR(100) NOT NULL,
    notes TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_stock_adjustments_inventory ON stock_adjustments(inventory_id);
CREATE INDEX idx_stock_adjustments_user ON stock_adjustments(user_id);
CREATE INDEX idx_stock_adjustments_date ON stock_adjustments(adjustment_date);
CREATE INDEX idx_stock_adjustments_reason ON stock_adjustments(reason_code);

CREATE TABLE transaction_approvals (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    transaction_id UUID NOT NULL REFERENCES transactions(id),
    approver_id UUID NOT NULL REFERENCES users(id),
    status transaction_approval_status_enum NOT NULL,
    notes TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX idx_transaction_approvals_transaction ON transaction_approvals(transaction_id);
CREATE INDEX idx_transaction_approvals_approver ON transaction_approvals(approver_id);
CREATE INDEX idx_transaction_approvals_status ON transaction_approvals(status);
"""

CRITICAL_INDEXES = """
CREATE INDEX idx_organizations_hierarchy ON organizations(parent_organization_id, organization_type);
CREATE INDEX idx_users_auth ON users(email, password_hash) WHERE is_active = true;
CREATE INDEX idx_users_org_active ON users(organization_id, is_active, role);
CREATE INDEX idx_inventory_warehouse_stock ON inventory(warehouse_id, current_stock);
CREATE INDEX idx_inventory_part_stock ON inventory(part_id, current_stock);
CREATE INDEX idx_transactions_date_type ON transactions(transaction_date, transaction_type);
CREATE INDEX idx_transactions_part_date ON transactions(part_id, transaction_date);
CREATE INDEX idx_part_usage_machine_date ON part_usage(machine_id, usage_date);
CREATE INDEX idx_customer_orders_org_status ON customer_orders(customer_organization_id, status);
"""

CHECK_CONSTRAINTS = """
ALTER TABLE organizations
ADD CONSTRAINT supplier_must_have_parent
CHECK (organization_type != 'supplier' OR parent_organization_id IS NOT NULL);

-- Not in the spec: a self-parented organization would vanish from organization_hierarchy.
ALTER TABLE organizations
ADD CONSTRAINT organization_not_own_parent
CHECK (parent_organization_id IS DISTINCT FROM id);

ALTER TABLE transactions
ADD CONSTRAINT positive_quantity
CHECK (quantity > 0);

ALTER TABLE transactions
ADD CONSTRAINT valid_transaction_warehouses
CHECK (
    (transaction_type = 'creation' AND from_warehouse_id IS NULL AND to_warehouse_id IS NOT NULL) OR
    (transaction_type = 'consumption' AND from_warehouse_id IS NOT NULL AND to_warehouse_id IS NULL) OR
    (transaction_type = 'transfer' AND from_warehouse_id IS NOT NULL AND to_warehouse_id IS NOT NULL) OR
    (transaction_type = 'adjustment')
);
"""

# The spec's machine_customer_only is a CHECK with a subquery, which PostgreSQL rejects.
# The machines side locks the owner FOR SHARE, so a concurrent change of the owner's type
# either waits for the machine to commit (and then sees it) or is seen by this check.
MACHINE_CUSTOMER_ONLY = """
CREATE FUNCTION machine_customer_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner_type organization_type_enum;
BEGIN
    SELECT organization_type INTO owner_type
    FROM organizations WHERE id = NEW.customer_organization_id FOR SHARE;
    -- An unknown owner is left to the foreign key, which reports it more precisely.
    IF FOUND AND owner_type <> 'customer' THEN
        RAISE EXCEPTION 'machine_customer_only: machines can only be owned by customer organizations'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'machine_customer_only', TABLE = 'machines',
                  DETAIL = format('organization %s is of type %s', NEW.customer_organization_id, owner_type);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER machine_customer_only
    BEFORE INSERT OR UPDATE OF customer_organization_id ON machines
    FOR EACH ROW EXECUTE FUNCTION machine_customer_only();

CREATE FUNCTION machine_owner_stays_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.organization_type <> 'customer'
       AND EXISTS (SELECT 1 FROM machines WHERE customer_organization_id = NEW.id) THEN
        RAISE EXCEPTION 'machine_customer_only: organization % owns machines and must stay a customer', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'machine_customer_only', TABLE = 'organizations',
                  DETAIL = format('refused change of organization_type to %s', NEW.organization_type);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER machine_owner_stays_customer
    BEFORE UPDATE OF organization_type ON organizations
    FOR EACH ROW EXECUTE FUNCTION machine_owner_stays_customer();
"""

VIEWS = """
CREATE VIEW organization_hierarchy AS
WITH RECURSIVE org_tree AS (
    SELECT id, name, organization_type, parent_organization_id, 0 as level
    FROM organizations
    WHERE parent_organization_id IS NULL

    UNION ALL

    SELECT o.id, o.name, o.organization_type, o.parent_organization_id, ot.level + 1
    FROM organizations o
    JOIN org_tree ot ON o.parent_organization_id = ot.id
)
SELECT * FROM org_tree;

CREATE VIEW inventory_summary AS
SELECT
    i.warehouse_id,
    w.name as warehouse_name,
    w.organization_id,
    o.name as organization_name,
    COUNT(*) as total_parts,
    SUM(CASE WHEN i.current_stock <= i.minimum_stock_recommendation THEN 1 ELSE 0 END) as low_stock_parts,
    SUM(i.current_stock * COALESCE(p.unit_price, 0)) as total_value
FROM inventory i
JOIN warehouses w ON i.warehouse_id = w.id
JOIN organizations o ON w.organization_id = o.id
JOIN parts p ON i.part_id = p.id
WHERE w.is_active = true
GROUP BY i.warehouse_id, w.name, w.organization_id, o.name;

CREATE VIEW machine_usage_summary AS
SELECT
    m.id as machine_id,
    m.name as machine_name,
    m.serial_number,
    m.customer_organization_id,
    o.name as customer_name,
    COUNT(pu.id) as total_usage_records,
    MAX(pu.usage_date) as last_usage_date,
    SUM(pu.quantity) as total_parts_consumed
FROM machines m
JOIN organizations o ON m.customer_organization_id = o.id
LEFT JOIN part_usage pu ON m.id = pu.machine_id
GROUP BY m.id, m.name, m.serial_number, m.customer_organization_id, o.name;
"""

# No CASCADE: anything a later migration hangs on these objects must be removed by that
# migration's own downgrade, not silently dropped here.
DOWNGRADE = """
DROP VIEW machine_usage_summary, inventory_summary, organization_hierarchy;
DROP TRIGGER machine_owner_stays_customer ON organizations;
DROP TRIGGER machine_customer_only ON machines;
DROP FUNCTION machine_owner_stays_customer();
DROP FUNCTION machine_customer_only();
DROP TABLE
    transaction_approvals, stock_adjustments, user_management_audit_logs, invitation_audit_logs,
    user_sessions, security_events, part_usage, supplier_order_items, supplier_orders,
    customer_order_items, customer_orders, transactions, machines, inventory, parts, warehouses,
    users, organizations;
DROP TYPE
    transaction_approval_status_enum, transaction_type_enum, machine_status_enum, part_type_enum,
    user_status_enum, user_role_enum, organization_type_enum;
"""


def upgrade() -> None:
    for statement in (
        ENUMS,
        CORE_TABLES,
        SUPPORTING_TABLES,
        SECURITY_AND_WORKFLOW_TABLES,
        CRITICAL_INDEXES,
        CHECK_CONSTRAINTS,
        MACHINE_CUSTOMER_ONLY,
        VIEWS,
    ):
        op.execute(statement)


def downgrade() -> None:
    op.execute(DOWNGRADE)
