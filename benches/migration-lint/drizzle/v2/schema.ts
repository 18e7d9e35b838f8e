// v2: `note` renamed to `remark`, `name` widened to varchar(100), a new nullable `email`, and
// an index on it (the name schema-core gives it).
import { index, pgTable, text, uuid, varchar } from "drizzle-orm/pg-core";

export const accounts = pgTable(
  "accounts",
  {
    accountId: uuid("account_id").primaryKey().defaultRandom(),
    name: varchar("name", { length: 100 }).notNull(),
    remark: text("remark"),
    email: text("email"),
  },
  (t) => [index("accounts_email_idx").on(t.email)],
);
