SET client_encoding = 'UTF8';
SET search_path = "public", pg_temp;

SET citus.enable_unsafe_triggers = on;
DO $role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'physician') THEN CREATE ROLE "physician" NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $role$;
ALTER ROLE "physician" LOGIN;
DO $role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'support_team') THEN CREATE ROLE "support_team" NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $role$;
ALTER ROLE "support_team" LOGIN;
DO $role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'billing_team') THEN CREATE ROLE "billing_team" NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $role$;
ALTER ROLE "billing_team" LOGIN;
CREATE SCHEMA IF NOT EXISTS "billing";
GRANT USAGE ON SCHEMA "billing" TO "billing_team";
GRANT USAGE ON SCHEMA "billing" TO "physician";

CREATE TYPE "invoice_status" AS ENUM ('DRAFT', 'ISSUED', 'PAID', 'VOID');

CREATE TABLE "providers" (
    "provider_id" uuid NOT NULL DEFAULT gen_random_uuid(),
    "npi" varchar(10) NOT NULL,
    "first_name" varchar(100) NOT NULL,
    "last_name" varchar(100) NOT NULL,
    "email" varchar(255) NOT NULL,
    "practice_name" varchar(200),
    "specialty" varchar(100),
    "is_active" boolean NOT NULL DEFAULT true,
    "created_at" timestamptz NOT NULL DEFAULT now(),
    "updated_at" timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "providers_pkey" PRIMARY KEY ("provider_id"),
    CONSTRAINT "providers_npi_key" UNIQUE ("npi"),
    CONSTRAINT "providers_email_key" UNIQUE ("email")
);
SELECT create_reference_table('"providers"');

CREATE INDEX "providers_last_name_first_name_idx" ON "providers" ("last_name", "first_name");

COMMENT ON TABLE "providers" IS 'A physician (or other billing provider) using the platform.';
COMMENT ON COLUMN "providers"."provider_id" IS 'Unique identifier of the provider.';
COMMENT ON COLUMN "providers"."npi" IS 'National Provider Identifier: ten digits.';
COMMENT ON COLUMN "providers"."first_name" IS 'Given name.';
COMMENT ON COLUMN "providers"."last_name" IS 'Family name.';
COMMENT ON COLUMN "providers"."email" IS 'Login and contact address.';
COMMENT ON COLUMN "providers"."practice_name" IS 'The practice the provider bills under.';
COMMENT ON COLUMN "providers"."specialty" IS 'Medical specialty.';
COMMENT ON COLUMN "providers"."is_active" IS 'Whether the provider may sign in.';
COMMENT ON COLUMN "providers"."created_at" IS 'When the provider was registered.';
COMMENT ON COLUMN "providers"."updated_at" IS 'When the provider''s row last changed.';

CREATE TABLE "support_tickets" (
    "ticket_id" uuid NOT NULL DEFAULT gen_random_uuid(),
    "provider_id" uuid NOT NULL,
    "subject" varchar(200) NOT NULL,
    "description" text NOT NULL,
    "context_url" varchar(500),
    "context_metadata" jsonb,
    "category" varchar(50),
    "priority" varchar(10) NOT NULL DEFAULT 'MEDIUM',
    "status" varchar(20) NOT NULL DEFAULT 'OPEN',
    "assigned_to" varchar(100),
    "resolution_notes" text,
    "resolved_at" timestamptz,
    "satisfaction_rating" integer,
    "satisfaction_comment" text,
    "screenshot_path" varchar(255),
    "created_at" timestamptz NOT NULL DEFAULT now(),
    "updated_at" timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "support_tickets_pkey" PRIMARY KEY ("provider_id", "ticket_id"),
    CONSTRAINT "support_tickets_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers" ("provider_id"),
    CONSTRAINT "support_tickets_category_check" CHECK ("category" IN ('BILLING', 'TECHNICAL', 'ACCOUNT', 'FEATURE_REQUEST')),
    CONSTRAINT "support_tickets_priority_check" CHECK ("priority" IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT')),
    CONSTRAINT "support_tickets_status_check" CHECK ("status" IN ('OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'RESOLVED', 'CLOSED')),
    CONSTRAINT "support_tickets_satisfaction_rating_check" CHECK ("satisfaction_rating" BETWEEN 1 AND 5)
);
SELECT create_distributed_table('"support_tickets"', 'provider_id', colocate_with => 'default');

CREATE FUNCTION "support_tickets_insert_defaults"() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $citus_insert_defaults$
BEGIN
    IF current_user = 'physician' THEN
        NEW."ticket_id" := gen_random_uuid();
        NEW."status" := 'OPEN';
        NEW."created_at" := now();
        NEW."updated_at" := now();
    END IF;
    RETURN NEW;
END
$citus_insert_defaults$;
CREATE TRIGGER "support_tickets_insert_defaults" BEFORE INSERT ON "support_tickets" FOR EACH ROW EXECUTE FUNCTION "support_tickets_insert_defaults"();

CREATE INDEX "support_tickets_provider_id_status_idx" ON "support_tickets" ("provider_id", "status");
CREATE INDEX "support_tickets_provider_id_created_at_idx" ON "support_tickets" ("provider_id", "created_at" DESC);
CREATE INDEX "support_tickets_status_priority_idx" ON "support_tickets" ("status", "priority");
CREATE INDEX "support_tickets_assigned_to_status_idx" ON "support_tickets" ("assigned_to", "status");

COMMENT ON TABLE "support_tickets" IS 'A physician''s request for help, raised from the page where they clicked Help.';
COMMENT ON COLUMN "support_tickets"."ticket_id" IS 'Unique identifier of the ticket.';
COMMENT ON COLUMN "support_tickets"."provider_id" IS 'The physician who raised the ticket; they see only their own tickets.';
COMMENT ON COLUMN "support_tickets"."subject" IS 'Auto-generated from context or physician-entered.';
COMMENT ON COLUMN "support_tickets"."description" IS 'Physician''s description of the issue; may contain PHI.

Sensitive: may hold PHI; redacted from Debug output, keep out of logs and exports.';
COMMENT ON COLUMN "support_tickets"."context_url" IS 'Page URL where Help was clicked.';
COMMENT ON COLUMN "support_tickets"."context_metadata" IS 'Auto-captured context: claim_id, batch_id, error codes, browser info. PHI-adjacent.

Sensitive: may hold PHI; redacted from Debug output, keep out of logs and exports.';
COMMENT ON COLUMN "support_tickets"."category" IS 'Assigned by the support team.';
COMMENT ON COLUMN "support_tickets"."priority" IS 'How urgent the ticket is.';
COMMENT ON COLUMN "support_tickets"."status" IS 'Where the ticket stands.';
COMMENT ON COLUMN "support_tickets"."assigned_to" IS 'Support team member handling the ticket.';
COMMENT ON COLUMN "support_tickets"."resolution_notes" IS 'How the issue was resolved.';
COMMENT ON COLUMN "support_tickets"."resolved_at" IS 'When the ticket was resolved.';
COMMENT ON COLUMN "support_tickets"."satisfaction_rating" IS '1-5 star rating from the physician.';
COMMENT ON COLUMN "support_tickets"."satisfaction_comment" IS 'Optional comment with the rating.';
COMMENT ON COLUMN "support_tickets"."screenshot_path" IS 'Path to the uploaded screenshot in encrypted storage; never exposed in API responses.

Internal: never serialized nor read from deserialized input.';
COMMENT ON COLUMN "support_tickets"."created_at" IS 'When the ticket was raised.';
COMMENT ON COLUMN "support_tickets"."updated_at" IS 'When the ticket last changed.';

CREATE FUNCTION "support_tickets_immutable_columns"() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET extra_float_digits = 3 AS $fn$
BEGIN
    IF NEW."provider_id"::pg_catalog.text COLLATE pg_catalog."C" IS DISTINCT FROM OLD."provider_id"::pg_catalog.text THEN
        RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', MESSAGE = 'column "provider_id" of table "support_tickets" never changes after insert', COLUMN = 'provider_id', TABLE = 'support_tickets', CONSTRAINT = 'support_tickets_provider_id_immutable';
    END IF;
    IF NEW."created_at"::pg_catalog.text COLLATE pg_catalog."C" IS DISTINCT FROM OLD."created_at"::pg_catalog.text THEN
        RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', MESSAGE = 'column "created_at" of table "support_tickets" never changes after insert', COLUMN = 'created_at', TABLE = 'support_tickets', CONSTRAINT = 'support_tickets_created_at_immutable';
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER "support_tickets_immutable_columns" AFTER UPDATE ON "support_tickets" FOR EACH ROW EXECUTE FUNCTION "support_tickets_immutable_columns"();

ALTER TABLE "support_tickets" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "support_tickets" FORCE ROW LEVEL SECURITY;
CREATE POLICY "support_tickets_physician_own" ON "support_tickets" FOR ALL TO "physician" USING ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid) WITH CHECK ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid);
CREATE POLICY "support_tickets_support_team_read" ON "support_tickets" FOR SELECT TO "support_team" USING (true);
CREATE POLICY "support_tickets_support_team_work" ON "support_tickets" FOR UPDATE TO "support_team" USING (true) WITH CHECK (true);
GRANT SELECT, DELETE ON "support_tickets" TO "physician";
GRANT INSERT ("ticket_id", "provider_id", "subject", "description", "context_url", "context_metadata", "priority", "status", "screenshot_path", "created_at", "updated_at") ON "support_tickets" TO "physician";
GRANT UPDATE ("subject", "description", "satisfaction_rating", "satisfaction_comment", "updated_at") ON "support_tickets" TO "physician";
GRANT SELECT ON "support_tickets" TO "support_team";
GRANT UPDATE ("category", "priority", "status", "assigned_to", "resolution_notes", "resolved_at", "updated_at") ON "support_tickets" TO "support_team";

CREATE TABLE "billing"."invoices" (
    "invoice_id" uuid NOT NULL DEFAULT gen_random_uuid(),
    "provider_id" uuid NOT NULL,
    "invoice_number" varchar(30) NOT NULL,
    "status" "invoice_status" NOT NULL DEFAULT 'DRAFT',
    "patient_account" varchar(50) NOT NULL,
    "issued_on" date,
    "due_on" date,
    "created_at" timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "invoices_pkey" PRIMARY KEY ("provider_id", "invoice_id"),
    CONSTRAINT "invoices_provider_id_invoice_number_key" UNIQUE ("provider_id", "invoice_number"),
    CONSTRAINT "invoices_invoice_id_provider_id_key" UNIQUE ("invoice_id", "provider_id"),
    CONSTRAINT "invoices_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers" ("provider_id") ON DELETE RESTRICT
);
SELECT create_distributed_table('"billing"."invoices"', 'provider_id', colocate_with => '"support_tickets"');

CREATE INDEX "invoices_unpaid_idx" ON "billing"."invoices" ("provider_id", "due_on") WHERE "status" = 'ISSUED';

COMMENT ON TABLE "billing"."invoices" IS 'An invoice a provider issues, numbered by the provider.';
COMMENT ON COLUMN "billing"."invoices"."invoice_id" IS 'Unique identifier of the invoice.';
COMMENT ON COLUMN "billing"."invoices"."provider_id" IS 'The provider who bills; they see only their own invoices.';
COMMENT ON COLUMN "billing"."invoices"."invoice_number" IS 'The provider''s own number for the invoice, unique per provider.';
COMMENT ON COLUMN "billing"."invoices"."status" IS 'Where the invoice stands.';
COMMENT ON COLUMN "billing"."invoices"."patient_account" IS 'The patient''s account number at the practice; PHI.

Sensitive: may hold PHI; redacted from Debug output, keep out of logs and exports.';
COMMENT ON COLUMN "billing"."invoices"."issued_on" IS 'When it was sent.';
COMMENT ON COLUMN "billing"."invoices"."due_on" IS 'When payment is due.';
COMMENT ON COLUMN "billing"."invoices"."created_at" IS 'When the invoice was created.';

CREATE FUNCTION "billing"."invoices_immutable_columns"() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET extra_float_digits = 3 AS $fn$
BEGIN
    IF NEW."provider_id"::pg_catalog.text COLLATE pg_catalog."C" IS DISTINCT FROM OLD."provider_id"::pg_catalog.text THEN
        RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', MESSAGE = 'column "provider_id" of table "invoices" never changes after insert', COLUMN = 'provider_id', TABLE = 'invoices', CONSTRAINT = 'invoices_provider_id_immutable';
    END IF;
    IF NEW."created_at"::pg_catalog.text COLLATE pg_catalog."C" IS DISTINCT FROM OLD."created_at"::pg_catalog.text THEN
        RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', MESSAGE = 'column "created_at" of table "invoices" never changes after insert', COLUMN = 'created_at', TABLE = 'invoices', CONSTRAINT = 'invoices_created_at_immutable';
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER "invoices_immutable_columns" AFTER UPDATE ON "billing"."invoices" FOR EACH ROW EXECUTE FUNCTION "billing"."invoices_immutable_columns"();

ALTER TABLE "billing"."invoices" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "billing"."invoices" FORCE ROW LEVEL SECURITY;
CREATE POLICY "invoices_physician_own" ON "billing"."invoices" FOR SELECT TO "physician" USING ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid);
CREATE POLICY "invoices_billing_team_all" ON "billing"."invoices" FOR ALL TO "billing_team" USING (true) WITH CHECK (true);
GRANT SELECT ON "billing"."invoices" TO "physician";
GRANT SELECT, INSERT, UPDATE, DELETE ON "billing"."invoices" TO "billing_team";

CREATE TABLE "billing"."invoice_lines" (
    "invoice_id" uuid NOT NULL,
    "provider_id" uuid NOT NULL,
    "line_number" bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    "description" varchar(200) NOT NULL,
    "service_codes" varchar(5)[] NOT NULL,
    "quantity" numeric(10,2) NOT NULL,
    "unit_price" numeric(12,2) NOT NULL,
    "line_total" numeric(14,2) NOT NULL GENERATED ALWAYS AS ("quantity" * "unit_price") STORED,
    CONSTRAINT "invoice_lines_pkey" PRIMARY KEY ("provider_id", "invoice_id", "line_number"),
    CONSTRAINT "invoice_lines_invoice_id_provider_id_fkey" FOREIGN KEY ("invoice_id", "provider_id") REFERENCES "billing"."invoices" ("invoice_id", "provider_id") ON DELETE CASCADE
);
SELECT create_distributed_table('"billing"."invoice_lines"', 'provider_id', colocate_with => '"support_tickets"');

CREATE INDEX "invoice_lines_service_codes_idx" ON "billing"."invoice_lines" USING gin ("service_codes");

COMMENT ON TABLE "billing"."invoice_lines" IS 'One billed service of an invoice.';
COMMENT ON COLUMN "billing"."invoice_lines"."invoice_id" IS 'The invoice.';
COMMENT ON COLUMN "billing"."invoice_lines"."provider_id" IS 'The invoice''s provider (the foreign key keeps it so): a physician''s scope applies to
lines without a join.';
COMMENT ON COLUMN "billing"."invoice_lines"."line_number" IS 'The line''s number, given by the database.';
COMMENT ON COLUMN "billing"."invoice_lines"."description" IS 'What was done.';
COMMENT ON COLUMN "billing"."invoice_lines"."service_codes" IS 'The procedure codes (CPT/HCPCS) billed, five characters each.';
COMMENT ON COLUMN "billing"."invoice_lines"."quantity" IS 'How many units.';
COMMENT ON COLUMN "billing"."invoice_lines"."unit_price" IS 'The price of one unit.';
COMMENT ON COLUMN "billing"."invoice_lines"."line_total" IS '`quantity × unit_price`, computed by the database.';

ALTER TABLE "billing"."invoice_lines" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "billing"."invoice_lines" FORCE ROW LEVEL SECURITY;
CREATE POLICY "invoice_lines_physician_own" ON "billing"."invoice_lines" FOR SELECT TO "physician" USING ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid);
CREATE POLICY "invoice_lines_billing_team_all" ON "billing"."invoice_lines" FOR ALL TO "billing_team" USING (true) WITH CHECK (true);
GRANT SELECT ON "billing"."invoice_lines" TO "physician";
GRANT SELECT, INSERT, UPDATE, DELETE ON "billing"."invoice_lines" TO "billing_team";
