-- Migration 20261126162837_billing, generated from the code by schema-core; review it before it is applied.
-- The steps between BEGIN and COMMIT run in one transaction with the migration's history row;
-- those marked `no-transaction` run on their own.
--
-- Hazards: none.

BEGIN;

-- step 1 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
DO $role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'billing_team') THEN CREATE ROLE "billing_team" NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $role$;

-- step 2 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE SCHEMA IF NOT EXISTS "billing";

-- step 3 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT USAGE ON SCHEMA "billing" TO "billing_team";

-- step 4 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT USAGE ON SCHEMA "billing" TO "physician";

-- step 5 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE TYPE "invoice_status" AS ENUM ('DRAFT', 'ISSUED', 'PAID', 'VOID');

-- step 6 · lock ShareRowExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE TABLE "billing"."invoices" (
    "invoice_id" uuid NOT NULL DEFAULT gen_random_uuid(),
    "provider_id" uuid NOT NULL,
    "invoice_number" varchar(30) NOT NULL,
    "status" "invoice_status" NOT NULL DEFAULT 'DRAFT',
    "patient_account" varchar(50) NOT NULL,
    "issued_on" date,
    "due_on" date,
    "created_at" timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "invoices_pkey" PRIMARY KEY ("invoice_id"),
    CONSTRAINT "invoices_provider_id_invoice_number_key" UNIQUE ("provider_id", "invoice_number"),
    CONSTRAINT "invoices_invoice_id_provider_id_key" UNIQUE ("invoice_id", "provider_id"),
    CONSTRAINT "invoices_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers" ("provider_id") ON DELETE RESTRICT
);

-- step 7 · lock Share
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE INDEX "invoices_unpaid_idx" ON "billing"."invoices" ("provider_id", "due_on") WHERE "status" = 'ISSUED';

-- step 8 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON TABLE "billing"."invoices" IS 'An invoice a provider issues, numbered by the provider.';

-- step 9 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoices"."invoice_id" IS 'Unique identifier of the invoice.';

-- step 10 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoices"."provider_id" IS 'The provider who bills; they see only their own invoices.';

-- step 11 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoices"."invoice_number" IS 'The provider''s own number for the invoice, unique per provider.';

-- step 12 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoices"."status" IS 'Where the invoice stands.';

-- step 13 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoices"."patient_account" IS 'The patient''s account number at the practice; PHI.

Sensitive: may hold PHI; redacted from Debug output, keep out of logs and exports.';

-- step 14 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoices"."issued_on" IS 'When it was sent.';

-- step 15 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoices"."due_on" IS 'When payment is due.';

-- step 16 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoices"."created_at" IS 'When the invoice was created.';

-- step 17 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
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

-- step 18 · lock ShareRowExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE TRIGGER "invoices_immutable_columns" AFTER UPDATE ON "billing"."invoices" FOR EACH ROW EXECUTE FUNCTION "billing"."invoices_immutable_columns"();

-- step 19 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
ALTER TABLE "billing"."invoices" ENABLE ROW LEVEL SECURITY;

-- step 20 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
ALTER TABLE "billing"."invoices" FORCE ROW LEVEL SECURITY;

-- step 21 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE POLICY "invoices_physician_own" ON "billing"."invoices" FOR SELECT TO "physician" USING ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid);

-- step 22 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE POLICY "invoices_billing_team_all" ON "billing"."invoices" FOR ALL TO "billing_team" USING (true) WITH CHECK (true);

-- step 23 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT SELECT ON "billing"."invoices" TO "physician";

-- step 24 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT SELECT, INSERT, UPDATE, DELETE ON "billing"."invoices" TO "billing_team";

-- step 25 · lock ShareRowExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE TABLE "billing"."invoice_lines" (
    "invoice_id" uuid NOT NULL,
    "provider_id" uuid NOT NULL,
    "line_number" bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    "description" varchar(200) NOT NULL,
    "service_codes" varchar(5)[] NOT NULL,
    "quantity" numeric(10,2) NOT NULL,
    "unit_price" numeric(12,2) NOT NULL,
    "line_total" numeric(14,2) NOT NULL GENERATED ALWAYS AS ("quantity" * "unit_price") STORED,
    CONSTRAINT "invoice_lines_pkey" PRIMARY KEY ("invoice_id", "line_number"),
    CONSTRAINT "invoice_lines_invoice_id_provider_id_fkey" FOREIGN KEY ("invoice_id", "provider_id") REFERENCES "billing"."invoices" ("invoice_id", "provider_id") ON DELETE CASCADE
);

-- step 26 · lock Share
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE INDEX "invoice_lines_service_codes_idx" ON "billing"."invoice_lines" USING gin ("service_codes");

-- step 27 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON TABLE "billing"."invoice_lines" IS 'One billed service of an invoice.';

-- step 28 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoice_lines"."invoice_id" IS 'The invoice.';

-- step 29 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoice_lines"."provider_id" IS 'The invoice''s provider (the foreign key keeps it so): a physician''s scope applies to
lines without a join.';

-- step 30 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoice_lines"."line_number" IS 'The line''s number, given by the database.';

-- step 31 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoice_lines"."description" IS 'What was done.';

-- step 32 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoice_lines"."service_codes" IS 'The procedure codes (CPT/HCPCS) billed, five characters each.';

-- step 33 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoice_lines"."quantity" IS 'How many units.';

-- step 34 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoice_lines"."unit_price" IS 'The price of one unit.';

-- step 35 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."invoice_lines"."line_total" IS '`quantity × unit_price`, computed by the database.';

-- step 36 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
ALTER TABLE "billing"."invoice_lines" ENABLE ROW LEVEL SECURITY;

-- step 37 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
ALTER TABLE "billing"."invoice_lines" FORCE ROW LEVEL SECURITY;

-- step 38 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE POLICY "invoice_lines_physician_own" ON "billing"."invoice_lines" FOR SELECT TO "physician" USING ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid);

-- step 39 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE POLICY "invoice_lines_billing_team_all" ON "billing"."invoice_lines" FOR ALL TO "billing_team" USING (true) WITH CHECK (true);

-- step 40 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT SELECT ON "billing"."invoice_lines" TO "physician";

-- step 41 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT SELECT, INSERT, UPDATE, DELETE ON "billing"."invoice_lines" TO "billing_team";

COMMIT;
