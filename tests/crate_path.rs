//! Generated code reaches schema-core by an absolute path, or by the path `#[pg(crate = "...")]`
//! gives: a module that shadows the crate's name changes nothing.

/// A local module with the crate's name: a relative `schema_core::...` would resolve here.
#[allow(dead_code)]
mod schema_core {}

mod vendored {
    pub use ::schema_core as toolkit;
}

#[derive(::schema_core::PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(rename_all = "lowercase")]
pub enum Shade {
    Light,
    Dark,
}

/// Found through the absolute path despite the shadowing module.
#[derive(::schema_core::PgTable)]
#[pg(table = "lamps")]
pub struct Lamp {
    #[pg(primary_key)]
    pub lamp_id: i32,
    #[pg(default = Shade::Dark)]
    pub shade: Shade,
}

#[derive(vendored::toolkit::PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(crate = "vendored::toolkit")]
pub enum Finish {
    Matte,
}

/// A native type in a PostgreSQL schema, its name made through the path given.
#[derive(vendored::toolkit::PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(crate = "vendored::toolkit", native, schema = "store")]
pub enum Gloss {
    High,
}

/// Found through the path given by `crate = "..."`.
#[derive(vendored::toolkit::PgTable)]
#[pg(crate = "vendored::toolkit", table = "shelves")]
pub struct Shelf {
    #[pg(primary_key)]
    pub shelf_id: i32,
    #[pg(references = Lamp::lamp_id)]
    pub lamp_id: Option<i32>,
    pub finish: Finish,
    pub gloss: Option<Gloss>,
}

#[test]
fn derives_work_when_a_module_shadows_the_crate_name() {
    use ::schema_core::{PgEnum, Schema, Table};
    assert_eq!(Lamp::TABLE.name, "lamps");
    assert_eq!(Finish::Matte.as_str(), "Matte");
    let ddl = Schema::new()
        .table::<Shelf>()
        .table::<Lamp>()
        .to_ddl()
        .unwrap();
    assert!(
        ddl.contains(r#""shade" text NOT NULL DEFAULT 'dark'"#),
        "{ddl}"
    );
    assert!(
        ddl.contains(r#"FOREIGN KEY ("lamp_id") REFERENCES "lamps" ("lamp_id")"#),
        "{ddl}"
    );
    assert_eq!(Gloss::NATIVE_TYPE, Some("store.gloss"));
    assert!(ddl.contains(r#""gloss" "store"."gloss","#), "{ddl}");
    let shelf = InsertShelf::new(1, Finish::Matte);
    assert_eq!(shelf.lamp_id, None);
}
