//! Compile-fail tests of `#[derive(PgTable)]` and `#[derive(PgEnum)]`.
//!
//! Each program under `tests/ui/<kind>/` makes one kind of mistake (an unknown or repeated
//! attribute key, an attribute that does not fit the field's type, a bad index or foreign key,
//! a broken primary key, a declared rename that cannot hold, an input shape the derives do not
//! support) and must fail to compile with the error stored next to it in `<case>.stderr`: the
//! message and the token it points at are part of what is tested. After a deliberate change to
//! a message, regenerate the expected output with
//! `TRYBUILD=overwrite cargo test --test compile_fail` and review the diff.

#[test]
fn derive_mistakes_are_reported_at_their_tokens() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}
