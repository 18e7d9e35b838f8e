SET client_encoding = 'UTF8';
SET search_path = "public", pg_temp;
-- Migration 20261205130355_patients, generated from the code by schema-core; review it before it is applied.
-- The steps between BEGIN and COMMIT run in one transaction with the migration's history row;
-- those marked `no-transaction` run on their own.
--
-- Hazards: none.

BEGIN;

-- step 1 · lock ShareRowExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE TABLE "billing"."patients" (
    "provider_id" uuid NOT NULL,
    "patient_id" uuid NOT NULL,
    "name" bytea NOT NULL,
    "date_of_birth" bytea NOT NULL,
    "member_id" bytea NOT NULL,
    "address" bytea,
    "created_at" timestamptz NOT NULL DEFAULT now(),
    "member_id_bidx" bytea NOT NULL,
    CONSTRAINT "patients_pkey" PRIMARY KEY ("provider_id", "patient_id"),
    CONSTRAINT "patients_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers" ("provider_id") ON DELETE RESTRICT,
    CONSTRAINT "patients_name_envelope" CHECK (octet_length("name") >= 37 AND substring("name" FROM 1 FOR 4) = '\x50450101'::bytea),
    CONSTRAINT "patients_date_of_birth_envelope" CHECK (octet_length("date_of_birth") >= 37 AND substring("date_of_birth" FROM 1 FOR 4) = '\x50450101'::bytea),
    CONSTRAINT "patients_member_id_envelope" CHECK (octet_length("member_id") >= 37 AND substring("member_id" FROM 1 FOR 4) = '\x50450101'::bytea),
    CONSTRAINT "patients_address_envelope" CHECK (octet_length("address") >= 37 AND substring("address" FROM 1 FOR 4) = '\x50450101'::bytea)
);

-- step 2 · lock Share
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE INDEX "patients_provider_id_member_id_bidx_idx" ON "billing"."patients" ("provider_id", "member_id_bidx");

-- step 3 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON TABLE "billing"."patients" IS 'A patient a provider bills for. Their PHI (name, date of birth, member id, address) is
encrypted by the application: the database, its dumps and backups hold only envelopes,
each bound to this table, its column, the provider and the patient.';

-- step 4 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."patients"."provider_id" IS 'The provider the patient is billed by: the tenant of every encrypted column.';

-- step 5 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."patients"."patient_id" IS 'The patient, made in Rust before the insert (each ciphertext is bound to it).';

-- step 6 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."patients"."name" IS 'Full name; PHI.';

-- step 7 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."patients"."date_of_birth" IS 'Date of birth; PHI.';

-- step 8 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."patients"."member_id" IS 'The payer''s member id; PHI. Found by its blind index (`Db::eq_blind`): 12 bits, which
50,000 patients a provider allow (CipherSweet''s planner: 8 to 15).';

-- step 9 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."patients"."address" IS 'Postal address; PHI.';

-- step 10 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."patients"."created_at" IS 'When the patient was registered.';

-- step 11 · lock ShareUpdateExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
COMMENT ON COLUMN "billing"."patients"."member_id_bidx" IS 'Blind index of `member_id`: a truncated HMAC, keyed per tenant and column, for exact-match lookups.';

-- step 12 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
ALTER TABLE "billing"."patients" ENABLE ROW LEVEL SECURITY;

-- step 13 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
ALTER TABLE "billing"."patients" FORCE ROW LEVEL SECURITY;

-- step 14 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE POLICY "patients_physician_own" ON "billing"."patients" FOR ALL TO "physician" USING ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid) WITH CHECK ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid);

-- step 15 · lock AccessExclusive
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
CREATE POLICY "patients_billing_team_all" ON "billing"."patients" FOR ALL TO "billing_team" USING (true) WITH CHECK (true);

-- step 16 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT SELECT, INSERT, UPDATE, DELETE ON "billing"."patients" TO "physician";

-- step 17 · lock None
SET LOCAL lock_timeout = '5000ms';
SET LOCAL statement_timeout = '30000ms';
GRANT SELECT, INSERT, UPDATE, DELETE ON "billing"."patients" TO "billing_team";

COMMIT;
