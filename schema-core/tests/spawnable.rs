//! The library's async entry points can be handed to `tokio::spawn` on a multi-threaded
//! runtime: their futures are `Send`. Checked by the compiler: this file does not build if one
//! is not.
#![cfg(feature = "migrate")]

use schema_core::migrate::apply::ApplyOptions;
use schema_core::migrate::Migrations;
use schema_core::pg::evolve::{self, Shadow};
use schema_core::pg::introspect::{read_model, Scope};
use schema_core::pg::tokio_postgres::Client;
use schema_core::plan::Plan;
use schema_core::Schema;

fn spawnable<T: Send>(_: &T) {}

#[allow(dead_code)]
fn every_entry_point(
    client: &mut Client,
    plan: &Plan,
    schema: &Schema,
    migrations: &Migrations,
    options: ApplyOptions,
) {
    spawnable(&read_model(&*client, &Scope::default()));
    spawnable(&evolve::drift("postgres://", schema, Shadow::Transaction));
    spawnable(&evolve::plan_for(
        "postgres://",
        schema,
        Shadow::Transaction,
    ));
    spawnable(&evolve::dependents(&*client, plan));
    spawnable(&evolve::apply(client, plan, &[]));
    spawnable(&schema_core::migrate::apply::status(&*client, migrations));
    spawnable(&schema_core::migrate::apply::apply(
        client, migrations, options,
    ));
}

#[test]
fn the_entry_points_futures_are_send() {
    // The check is the function above compiling; this names it so that it is built.
    let _ = every_entry_point;
}
