// v1 of benches/migration-lint's table, as schema-core's src/main.rs declares it.
import { pgTable, text, uuid, varchar } from "drizzle-orm/pg-core";

export const accounts = pgTable("accounts", {
  accountId: uuid("account_id").primaryKey().defaultRandom(),
  name: varchar("name", { length: 50 }).notNull(),
  note: text("note"),
});
