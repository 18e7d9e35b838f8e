//! The IR of a `#[derive(PgTable)]` struct: its fields resolved to columns, names decided.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Ident, Path, Type, Visibility};

use super::attr::{doc_comment, FieldAttrs, TableAttrs};
use super::case;
use super::ctxt::Ctxt;

/// A table as the generator reads it.
pub struct Table<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    /// The struct's own attributes, doc comments among them.
    pub struct_attrs: &'a [syn::Attribute],
    /// The table's SQL name.
    pub name: String,
    /// Where the name came from: the `table = "..."` literal, else the struct's name.
    pub name_span: Span,
    pub comment: Option<String>,
    pub columns: Vec<Column<'a>>,
    pub attrs: TableAttrs,
    pub insert_ident: Ident,
    pub select_ident: Ident,
    pub update_ident: Ident,
    /// The path generated code reaches schema-core by.
    pub krate: Path,
}

/// A field and the column it declares.
pub struct Column<'a> {
    pub field: &'a syn::Field,
    pub ident: &'a Ident,
    pub ty: &'a Type,
    /// The column's SQL name.
    pub name: String,
    /// Where the name came from: the `rename = "..."` literal, else the field's name.
    pub name_span: Span,
    pub comment: Option<String>,
    /// Whether the type is written as `Option<...>`, which is what decides the generated
    /// Insert type's shape; a const check makes sure it agrees with `PgType::NULLABLE`.
    pub is_option: bool,
    pub attrs: FieldAttrs,
}

impl Column<'_> {
    /// Whether the database fills the column when an insert leaves it out: a default, or an
    /// identity.
    pub fn has_default(&self) -> bool {
        self.attrs.default.is_some()
            || self.attrs.default_sql.is_some()
            || self.attrs.identity.is_some()
    }

    /// Whether only the database writes the column (`identity(always)`, `generated`): it is in
    /// neither the Insert nor the Update type.
    pub fn filled_by_database(&self) -> bool {
        self.attrs.generated.is_some()
            || self
                .attrs
                .identity
                .as_ref()
                .is_some_and(|i| i.value.mode.as_ref().is_some_and(|m| m == "always"))
    }

    /// Whether the Insert type requires this column: NOT NULL, no default, no `default_fn`, and
    /// not filled by the database.
    pub fn required_on_insert(&self) -> bool {
        !self.is_option
            && !self.has_default()
            && self.attrs.default_fn.is_none()
            && !self.filled_by_database()
    }
}

impl<'a> Table<'a> {
    /// The table's name as schema-core's model has it: `billing.invoices` for a table with
    /// `schema = "billing"`, the bare name otherwise.
    pub fn qualified_name(&self) -> String {
        match &self.attrs.schema {
            Some(schema) => format!("{}.{}", schema.value(), self.name),
            None => self.name.clone(),
        }
    }

    /// The IR of `input`, or `None` when its shape is not a table (each reason recorded in
    /// `cx`). Attribute mistakes are recorded too, but still give a table, so that the rules
    /// of `check` can report theirs in the same build.
    pub fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let attrs = TableAttrs::parse(cx, &input.attrs);
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => &named.named,
                Fields::Unnamed(_) => {
                    cx.error_spanned_by(
                        &data.fields,
                        "`PgTable` needs a struct with named fields: each field is a column named after it",
                    );
                    return None;
                }
                Fields::Unit => {
                    cx.error_spanned_by(
                        &input.ident,
                        "`PgTable` needs a struct with named fields; a unit struct has no columns",
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                cx.error_spanned_by(
                    data.enum_token,
                    "`PgTable` is not supported on an enum; derive `PgEnum` to store an enum as text",
                );
                return None;
            }
            Data::Union(data) => {
                cx.error_spanned_by(data.union_token, "`PgTable` is not supported on a union");
                return None;
            }
        };
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "`PgTable` is not supported on a generic struct: a table has one fixed set of column types",
            );
            return None;
        }

        let (name, name_span) = match &attrs.table {
            Some(lit) => (lit.value(), lit.span()),
            None => (
                case::apply("snake_case", &input.ident.unraw().to_string()).unwrap_or_default(),
                input.ident.span(),
            ),
        };
        let columns = fields
            .iter()
            .map(|field| {
                let ident = field.ident.as_ref().expect("named field");
                let attrs = FieldAttrs::parse(cx, &field.attrs);
                let (name, name_span) = match &attrs.rename {
                    Some(lit) => (lit.value(), lit.span()),
                    None => (ident.unraw().to_string(), ident.span()),
                };
                Column {
                    field,
                    ident,
                    ty: &field.ty,
                    name,
                    name_span,
                    comment: doc_comment(&field.attrs),
                    is_option: is_option(&field.ty),
                    attrs,
                }
            })
            .collect();
        let generated = |prefix: &str, given: &Option<Ident>| {
            given.clone().unwrap_or_else(|| {
                Ident::new(&format!("{prefix}{}", input.ident), input.ident.span())
            })
        };
        Some(Table {
            ident: &input.ident,
            vis: &input.vis,
            struct_attrs: &input.attrs,
            name,
            name_span,
            comment: doc_comment(&input.attrs),
            columns,
            insert_ident: generated("Insert", &attrs.insert),
            select_ident: generated("Select", &attrs.select),
            update_ident: generated("Update", &attrs.update),
            krate: attrs
                .krate
                .clone()
                .unwrap_or_else(|| syn::parse_quote!(::schema_core)),
            attrs,
        })
    }

    /// The column declared by the field named `ident`.
    pub fn column(&self, ident: &Ident) -> Option<&Column<'a>> {
        self.columns.iter().find(|c| c.ident == ident)
    }

    /// Whether the Update type has this column: not part of the key, not refreshed by
    /// `update_sql`, not `immutable`, not the tenant column, and, when a `grant(...)` narrows updates to columns,
    /// granted to some role: the Update type offers nothing that no role may change.
    pub fn updatable(&self, column: &Column) -> bool {
        let mut update_grants = self.attrs.grants.iter().filter_map(|g| g.update.as_ref());
        let narrowed = self.attrs.grants.iter().any(|g| g.update.is_some());
        column.attrs.update_sql.is_none()
            && column.attrs.immutable.is_none()
            && column.attrs.tenant.is_none()
            && !column.filled_by_database()
            && !self.primary_key().iter().any(|k| k.ident == column.ident)
            && (!narrowed
                || update_grants.any(|update| update.value.iter().any(|i| i == column.ident)))
    }

    /// The columns of the Insert type: all but those only the database writes.
    pub fn inserted(&self) -> impl Iterator<Item = &Column<'a>> + '_ {
        self.columns.iter().filter(|c| !c.filled_by_database())
    }

    /// The primary key's columns: the struct's `primary_key(...)` list, or the one field marked
    /// `primary_key`.
    pub fn primary_key(&self) -> Vec<&Column<'a>> {
        match &self.attrs.primary_key {
            Some(list) => list.value.iter().filter_map(|i| self.column(i)).collect(),
            None => self
                .columns
                .iter()
                .filter(|c| c.attrs.primary_key.is_some())
                .take(1)
                .collect(),
        }
    }
}

/// Whether `ty` is written `Option<T>` (also as `std::option::Option<T>`).
fn is_option(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    if path.qself.is_some() {
        return false;
    }
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let known = matches!(
        segments
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["Option"] | ["std" | "core", "option", "Option"]
    );
    known
        && matches!(
            &path.path.segments.last().expect("a path has a segment").arguments,
            syn::PathArguments::AngleBracketed(args) if args.args.len() == 1
        )
}
