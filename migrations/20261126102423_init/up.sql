-- Migration 20261126102423_init, generated from the code by schema-core; review it before it is applied.
-- The steps between BEGIN and COMMIT run in one transaction with the migration's history row;
-- those marked `no-transaction` run on their own.
--
-- Hazards: none.

BEGIN;

-- step 1 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
DO $role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'physician') THEN CREATE ROLE "physician" NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $role$;

-- step 2 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
DO $role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'support_team') THEN CREATE ROLE "support_team" NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $role$;

-- step 3 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
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

-- step 4 · lock Share
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE INDEX "providers_last_name_first_name_idx" ON "providers" ("last_name", "first_name");

-- step 5 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON TABLE "providers" IS 'A physician (or other billing provider) using the platform.';

-- step 6 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "providers"."provider_id" IS 'Unique identifier of the provider.';

-- step 7 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "providers"."npi" IS 'National Provider Identifier: ten digits.';

-- step 8 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "providers"."first_name" IS 'Given name.';

-- step 9 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "providers"."last_name" IS 'Family name.';

-- step 10 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "providers"."email" IS 'Login and contact address.';

-- step 11 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "providers"."practice_name" IS 'The practice the provider bills under.';

-- step 12 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "providers"."specialty" IS 'Medical specialty.';

-- step 13 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "providers"."is_active" IS 'Whether the provider may sign in.';

-- step 14 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "providers"."created_at" IS 'When the provider was registered.';

-- step 15 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "providers"."updated_at" IS 'When the provider''s row last changed.';

-- step 16 · lock ShareRowExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
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
    CONSTRAINT "support_tickets_pkey" PRIMARY KEY ("ticket_id"),
    CONSTRAINT "support_tickets_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers" ("provider_id"),
    CONSTRAINT "support_tickets_category_check" CHECK ("category" IN ('BILLING', 'TECHNICAL', 'ACCOUNT', 'FEATURE_REQUEST')),
    CONSTRAINT "support_tickets_priority_check" CHECK ("priority" IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT')),
    CONSTRAINT "support_tickets_status_check" CHECK ("status" IN ('OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'RESOLVED', 'CLOSED')),
    CONSTRAINT "support_tickets_satisfaction_rating_check" CHECK ("satisfaction_rating" BETWEEN 1 AND 5)
);

-- step 17 · lock Share
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE INDEX "support_tickets_provider_id_status_idx" ON "support_tickets" ("provider_id", "status");

-- step 18 · lock Share
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE INDEX "support_tickets_provider_id_created_at_idx" ON "support_tickets" ("provider_id", "created_at" DESC);

-- step 19 · lock Share
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE INDEX "support_tickets_status_priority_idx" ON "support_tickets" ("status", "priority");

-- step 20 · lock Share
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE INDEX "support_tickets_assigned_to_status_idx" ON "support_tickets" ("assigned_to", "status");

-- step 21 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON TABLE "support_tickets" IS 'A physician''s request for help, raised from the page where they clicked Help.';

-- step 22 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."ticket_id" IS 'Unique identifier of the ticket.';

-- step 23 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."provider_id" IS 'The physician who raised the ticket; they see only their own tickets.';

-- step 24 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."subject" IS 'Auto-generated from context or physician-entered.';

-- step 25 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."description" IS 'Physician''s description of the issue; may contain PHI.

Sensitive: may hold PHI; redacted from Debug output, keep out of logs and exports.';

-- step 26 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."context_url" IS 'Page URL where Help was clicked.';

-- step 27 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."context_metadata" IS 'Auto-captured context: claim_id, batch_id, error codes, browser info. PHI-adjacent.

Sensitive: may hold PHI; redacted from Debug output, keep out of logs and exports.';

-- step 28 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."category" IS 'Assigned by the support team.';

-- step 29 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."priority" IS 'How urgent the ticket is.';

-- step 30 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."status" IS 'Where the ticket stands.';

-- step 31 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."assigned_to" IS 'Support team member handling the ticket.';

-- step 32 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."resolution_notes" IS 'How the issue was resolved.';

-- step 33 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."resolved_at" IS 'When the ticket was resolved.';

-- step 34 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."satisfaction_rating" IS '1-5 star rating from the physician.';

-- step 35 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."satisfaction_comment" IS 'Optional comment with the rating.';

-- step 36 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."screenshot_path" IS 'Path to the uploaded screenshot in encrypted storage; never exposed in API responses.

Internal: never serialized nor read from deserialized input.';

-- step 37 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."created_at" IS 'When the ticket was raised.';

-- step 38 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "support_tickets"."updated_at" IS 'When the ticket last changed.';

-- step 39 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
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

-- step 40 · lock ShareRowExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE TRIGGER "support_tickets_immutable_columns" AFTER UPDATE ON "support_tickets" FOR EACH ROW EXECUTE FUNCTION "support_tickets_immutable_columns"();

-- step 41 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
ALTER TABLE "support_tickets" ENABLE ROW LEVEL SECURITY;

-- step 42 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
ALTER TABLE "support_tickets" FORCE ROW LEVEL SECURITY;

-- step 43 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE POLICY "support_tickets_physician_own" ON "support_tickets" FOR ALL TO "physician" USING ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid) WITH CHECK ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid);

-- step 44 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE POLICY "support_tickets_support_team_read" ON "support_tickets" FOR SELECT TO "support_team" USING (true);

-- step 45 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE POLICY "support_tickets_support_team_work" ON "support_tickets" FOR UPDATE TO "support_team" USING (true) WITH CHECK (true);

-- step 46 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT SELECT, DELETE ON "support_tickets" TO "physician";

-- step 47 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT INSERT ("provider_id", "subject", "description", "context_url", "context_metadata", "priority", "screenshot_path") ON "support_tickets" TO "physician";

-- step 48 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT UPDATE ("subject", "description", "satisfaction_rating", "satisfaction_comment", "updated_at") ON "support_tickets" TO "physician";

-- step 49 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT SELECT ON "support_tickets" TO "support_team";

-- step 50 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT UPDATE ("category", "priority", "status", "assigned_to", "resolution_notes", "resolved_at", "updated_at") ON "support_tickets" TO "support_team";

COMMIT;
