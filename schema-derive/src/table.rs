//! Code generation for `#[derive(PgTable)]`: const metadata, the Insert and Select row types,
//! typed column references, and the compile-time checks that tie attributes to field types.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::internals::ast::{Column, Table};
use crate::internals::attr::{ForeignKeyAttr, Keyed, TemplatePart, UniqueAttr};
use crate::internals::check::check;
use crate::internals::ctxt::Ctxt;

pub fn expand(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let table = Table::from_ast(&cx, input);
    if let Some(table) = &table {
        check(&cx, table);
    }
    let failed = cx.has_errors();
    // The row types and column constants do not depend on what may be wrong, so they are
    // emitted either way: uses of `InsertX`, `SelectX` or `X::field` elsewhere then add no
    // errors of their own.
    let always = table
        .as_ref()
        .map(|t| {
            let (rows, refs) = (row_types(t), column_refs(t));
            quote!(#rows #refs)
        })
        .unwrap_or_default();
    // A table with a mistake still implements the traits its users name (with bodies that
    // never run, the crate does not build), so that only the mistake is reported.
    let rest = match &table {
        Some(table) if !failed => metadata(table),
        Some(table) => unusable_impls(table),
        None => TokenStream::new(),
    };
    match cx.check() {
        Ok(()) => quote!(#always #rest),
        Err(errors) => quote!(#errors #always #rest),
    }
}

/// The traits of a table whose declaration has an error (reported elsewhere): `Table`,
/// `Validate` and the drivers' row traits, each body unreachable.
fn unusable_impls(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let ident = table.ident;
    let (insert, select, update) = (
        &table.insert_ident,
        &table.select_ident,
        &table.update_ident,
    );
    let unreachable = quote!(::core::unreachable!("this table does not compile"));
    let mut impls = quote! {
        impl #krate::Table for #ident {
            const TABLE: &'static #krate::TableDef = &#krate::__private::UNUSABLE_TABLE;
            type Insert = #insert;
            type Select = #select;
            type Update = #update;
        }
        impl #krate::Validate for #insert {
            fn validate(&self) -> ::core::result::Result<(), #krate::ValidationError> {
                #unreachable
            }
        }
        impl #krate::Validate for #update {
            fn validate(&self) -> ::core::result::Result<(), #krate::ValidationError> {
                #unreachable
            }
        }
    };
    let query = quote!(#krate::query);
    impls.extend(quote! {
        impl #query::RowValues for #select {
            type Table = #ident;
            fn column_values(&self) -> ::std::vec::Vec<#query::Value> {
                #unreachable
            }
        }
        impl #query::PatchValues for #update {
            type Table = #ident;
            fn push_patch<'a>(
                &'a self,
                _: &mut ::std::vec::Vec<::core::option::Option<&'a dyn #query::QueryValue>>,
            ) {
                #unreachable
            }
        }
    });
    if cfg!(feature = "postgres") {
        let pg = quote!(#krate::pg);
        impls.extend(quote! {
            impl #pg::InsertRow for #insert {
                type Table = #ident;
                fn push_values<'a>(
                    &'a self,
                    _: &mut ::std::vec::Vec<::core::option::Option<#pg::Param<'a>>>,
                ) {
                    #unreachable
                }
            }
            impl #pg::FromRow for #select {
                type Table = #ident;
                fn from_row_at(
                    _: &#pg::tokio_postgres::Row,
                    _: &[usize],
                ) -> ::core::result::Result<Self, #pg::DecodeError> {
                    #unreachable
                }
            }
        });
        if let Some(key) = key_type(table) {
            impls.extend(quote! {
                impl #pg::KeyedTable for #ident {
                    type Key = #key;
                    fn push_key<'a>(_: &'a Self::Key, _: &mut ::std::vec::Vec<#pg::Param<'a>>) {
                        #unreachable
                    }
                }
                impl #pg::UpdateRow for #update {
                    type Table = #ident;
                    fn push_changes<'a>(
                        &'a self,
                        _: &mut ::std::vec::Vec<::core::option::Option<#pg::Param<'a>>>,
                    ) {
                        #unreachable
                    }
                }
            });
        }
    }
    if cfg!(feature = "sqlx") {
        let (sqlx, driver) = (quote!(#krate::sqlx), quote!(#krate::__private::sqlx));
        impls.extend(quote! {
            impl #sqlx::InsertRow for #insert {
                type Table = #ident;
                fn push_values<'a>(
                    &'a self,
                    _: bool,
                    _: &mut ::std::vec::Vec<::core::option::Option<#sqlx::Param<'a>>>,
                ) {
                    #unreachable
                }
            }
            impl<'r> #driver::FromRow<'r, #driver::postgres::PgRow> for #select {
                fn from_row(
                    _: &'r #driver::postgres::PgRow,
                ) -> ::core::result::Result<Self, #driver::Error> {
                    #unreachable
                }
            }
        });
    }
    quote!(const _: () = { #impls };)
}

/// The type of the table's key for `KeyedTable`: the key column's type, or a tuple of them;
/// `None` without a primary key.
fn key_type(table: &Table) -> Option<TokenStream> {
    match table.primary_key().as_slice() {
        [] => None,
        [only] => Some(only.ty.to_token_stream()),
        several => {
            let types = several.iter().map(|c| c.ty);
            Some(quote!((#(#types),*)))
        }
    }
}

/// `InsertX`, `SelectX` and `UpdateX`, with `InsertX::new` taking the required columns.
fn row_types(table: &Table) -> TokenStream {
    let vis = table.vis;
    let (insert, select, update) = (
        &table.insert_ident,
        &table.select_ident,
        &table.update_ident,
    );
    // `Debug` is written out below, so that sensitive columns print redacted.
    let base_derives = quote! {
        ::core::clone::Clone, ::core::cmp::PartialEq
    };
    let derives = |extra: &[syn::Path]| {
        let all = table.attrs.derive.iter().chain(extra);
        quote!(#[derive(#base_derives #(, #all)*)])
    };
    let insert_derives = derives(&table.attrs.insert_derive);
    let select_derives = derives(&table.attrs.select_derive);
    let update_derives = derives(&table.attrs.update_derive);

    let field = |column: &Column, ty: TokenStream| {
        let docs = column
            .field
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"));
        let (field_vis, ident) = (&column.field.vis, column.ident);
        quote!(#(#docs)* #field_vis #ident: #ty)
    };
    let insert_fields = table.inserted().map(|c| {
        let ty = c.ty;
        let ty = if c.has_default() && !c.is_option {
            quote!(::core::option::Option<#ty>)
        } else {
            quote!(#ty)
        };
        field(c, ty)
    });
    let select_fields = table
        .columns
        .iter()
        .map(|c| field(c, c.ty.to_token_stream()));
    let update_fields = table
        .columns
        .iter()
        .filter(|c| table.updatable(c))
        .map(|c| {
            let ty = c.ty;
            field(c, quote!(::core::option::Option<#ty>))
        });

    let serde = if cfg!(feature = "serde") {
        serde_impls(table)
    } else {
        TokenStream::new()
    };
    let insert_debug = debug_impl(table, insert, table.inserted());
    let select_debug = debug_impl(table, select, table.columns.iter());
    let update_debug = debug_impl(
        table,
        update,
        table.columns.iter().filter(|c| table.updatable(c)),
    );

    let required: Vec<_> = table
        .columns
        .iter()
        .filter(|c| c.required_on_insert())
        .collect();
    let params = required.iter().map(|c| {
        let (ident, ty) = (c.ident, c.ty);
        quote!(#ident: #ty)
    });
    let inits = table.inserted().map(|c| {
        let ident = c.ident;
        if c.required_on_insert() {
            quote!(#ident)
        } else if let Some(default_fn) = &c.attrs.default_fn {
            // The value made in Rust, checked to be the column's type at the path.
            let (ty, krate) = (c.ty, &table.krate);
            let path = &default_fn.value;
            let value = quote_spanned! {path.span()=>
                #krate::__private::call_default_fn::<<#ty as #krate::PgType>::Base>(#path)
            };
            if c.is_option || c.has_default() {
                quote!(#ident: ::core::option::Option::Some(#value))
            } else {
                quote!(#ident: #value)
            }
        } else {
            quote!(#ident: ::core::option::Option::None)
        }
    });
    let table_name = &table.qualified_name();
    let insert_doc = format!(
        "A row to insert into `{table_name}`: the NOT NULL columns without a default are \
         required; every other field is an `Option`, where `None` lets the database use the \
         column's default (or NULL)."
    );
    let select_doc = format!(
        "A row read from `{table_name}`: every column, `Option` where the column is nullable."
    );
    let update_doc = format!(
        "A patch of a row of `{table_name}`: every column but the key and those refreshed on \
         update; `None` leaves a column as it is, and for a nullable column `Some(None)` sets \
         it to NULL. `Default` changes nothing."
    );
    let new_doc = format!(
        "A row with the required columns set and every other column left to the database{}.",
        if required.is_empty() {
            String::new()
        } else {
            format!(
                " (required: {})",
                required
                    .iter()
                    .map(|c| format!("`{}`", c.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    quote! {
        #[doc = #insert_doc]
        #insert_derives
        #vis struct #insert {
            #(#insert_fields,)*
        }

        impl #insert {
            #[doc = #new_doc]
            #[allow(clippy::too_many_arguments)]
            #vis fn new(#(#params),*) -> Self {
                Self { #(#inits,)* }
            }
        }

        #[doc = #select_doc]
        #select_derives
        #vis struct #select {
            #(#select_fields,)*
        }

        #[doc = #update_doc]
        #update_derives
        #[derive(::core::default::Default)]
        #vis struct #update {
            #(#update_fields,)*
        }

        #insert_debug
        #select_debug
        #update_debug
        #serde
    }
}

/// How a field of a row type travels through serde.
#[derive(Clone, Copy)]
enum SerdeField {
    /// An `internal` column: never written, never read (its default when reading).
    Skipped,
    /// A field of `InsertX` or `SelectX`: always written; read as serde's derive reads a field
    /// without attributes (an absent `Option` is `None`, any other absent field an error).
    Plain,
    /// A patch field of a NOT NULL column, `Option<T>`: `None` is not written, and an absent
    /// field is `None`.
    Patch,
    /// A patch field of a nullable column, `Option<Option<T>>`: `None` is not written,
    /// `Some(None)` is written as `null`; an absent field is `None`, `null` is `Some(None)`.
    NullablePatch,
}

/// `Serialize` and `Deserialize` of the three row types (feature `serde`), as serde's derive
/// would write them for the fields' attributes of `SerdeField`, in a fraction of the code: the
/// generic part is `__private::serde_rows`.
fn serde_impls(table: &Table) -> TokenStream {
    let row = |c: &Column| {
        if c.attrs.internal.is_some() {
            SerdeField::Skipped
        } else {
            SerdeField::Plain
        }
    };
    let patch = |c: &Column| match (c.attrs.internal.is_some(), c.is_option) {
        (true, _) => SerdeField::Skipped,
        (false, false) => SerdeField::Patch,
        (false, true) => SerdeField::NullablePatch,
    };
    // A row read back never serializes an encrypted field's plaintext by accident (an API
    // response of `SelectX`): the application serializes the field itself when it means to.
    let read = |c: &Column| {
        if c.is_encrypted() {
            SerdeField::Skipped
        } else {
            row(c)
        }
    };
    let all: Vec<_> = table.columns.iter().map(|c| (c, read(c))).collect();
    let inserted: Vec<_> = table.inserted().map(|c| (c, row(c))).collect();
    let update: Vec<_> = table
        .columns
        .iter()
        .filter(|c| table.updatable(c))
        .map(|c| (c, patch(c)))
        .collect();
    let insert = serde_row(table, &table.insert_ident, &inserted, true);
    let select = serde_row(table, &table.select_ident, &all, false);
    let update = serde_row(table, &table.update_ident, &update, false);
    quote!(#insert #select #update)
}

/// The serde impls of one row type: the fields go to and come from schema-core's generic code
/// (`__private::serde_rows`) as one value, a balanced tree of pairs with a marker per field
/// saying how it travels, so that what the crate declaring the table type-checks is a call
/// per direction rather than code per field. `insert` says whether the field type of a column
/// with a default is wrapped in `Option` (as `InsertX` does).
fn serde_row(
    table: &Table,
    ty: &syn::Ident,
    fields: &[(&Column, SerdeField)],
    insert: bool,
) -> TokenStream {
    use syn::ext::IdentExt;
    let r = {
        let krate = &table.krate;
        quote!(#krate::__private::serde_rows)
    };
    let name = ty.unraw().to_string();
    let travelling: Vec<_> = fields
        .iter()
        .filter(|(_, kind)| !matches!(kind, SerdeField::Skipped))
        .collect();
    let keys = travelling.iter().map(|(c, _)| c.ident.unraw().to_string());
    let marker = |kind: &SerdeField| match kind {
        SerdeField::Patch => quote!(#r::Patch),
        SerdeField::NullablePatch => quote!(#r::Nullable),
        _ => quote!(#r::Plain),
    };
    // Each field's marker holding the field's type; spanned at the field, so that a column
    // type without `Deserialize` is reported there.
    let read_types = travelling.iter().map(|(c, kind)| {
        let (column_ty, marker) = (c.ty, marker(kind));
        let field_ty = match kind {
            SerdeField::Patch | SerdeField::NullablePatch => {
                quote!(::core::option::Option<#column_ty>)
            }
            _ if insert && c.has_default() && !c.is_option => {
                quote!(::core::option::Option<#column_ty>)
            }
            _ => quote!(#column_ty),
        };
        quote_spanned!(c.ty.span()=> #marker<#field_ty>)
    });
    let writes = travelling.iter().map(|(c, kind)| {
        let (ident, marker) = (c.ident, marker(kind));
        quote!(#marker(&self.#ident))
    });
    let vars: Vec<_> = (0..travelling.len())
        .map(|i| format_ident!("__field{}", i))
        .collect();
    let mut var = vars.iter();
    let inits = fields.iter().map(|(c, kind)| {
        let ident = c.ident;
        match kind {
            SerdeField::Skipped => quote!(#ident: ::core::default::Default::default()),
            _ => {
                let value = var.next().expect("one variable per travelling field");
                quote!(#ident: #value)
            }
        }
    });
    // The bounds the generic code needs of each field, as the impls' where clauses spanned at
    // the field: a column type without `Serialize` or `Deserialize` is reported there (a bound
    // that cannot hold is an error), not at the derive. `DeserializeOwned` rather than
    // `Deserialize<'de>`, which would make the impl conditional instead of an error.
    let bounded: Vec<_> = travelling
        .iter()
        .map(|(c, kind)| {
            let column_ty = c.ty;
            let ty = match kind {
                SerdeField::Plain if insert && c.has_default() && !c.is_option => {
                    quote!(::core::option::Option<#column_ty>)
                }
                _ => quote!(#column_ty),
            };
            (c.ty.span(), ty)
        })
        .collect();
    let ser_bounds = bounded.iter().map(|(span, ty)| {
        let r = respan(&r, *span);
        quote_spanned!(*span=> #ty: #r::Serialize)
    });
    let de_bounds = bounded.iter().map(|(span, ty)| {
        let r = respan(&r, *span);
        quote_spanned!(*span=> #ty: #r::DeserializeOwned)
    });
    let read_tree = tree(read_types.collect());
    let write_tree = tree(writes.collect());
    let pattern = tree(
        travelling
            .iter()
            .zip(&vars)
            .map(|((_, kind), var)| {
                let marker = marker(kind);
                quote!(#marker(#var))
            })
            .collect(),
    );

    quote! {
        const _: () = {
            const __FIELDS: &[&str] = &[#(#keys),*];

            #[automatically_derived]
            impl #r::Serialize for #ty
            where
                #(#ser_bounds,)*
            {
                fn serialize<__S: #r::Serializer>(
                    &self,
                    __serializer: __S,
                ) -> ::core::result::Result<__S::Ok, __S::Error> {
                    #r::serialize(__serializer, #name, __FIELDS, #write_tree)
                }
            }

            #[automatically_derived]
            impl<'de> #r::Deserialize<'de> for #ty
            where
                #(#de_bounds,)*
            {
                fn deserialize<__D: #r::Deserializer<'de>>(
                    __deserializer: __D,
                ) -> ::core::result::Result<Self, __D::Error> {
                    let #pattern =
                        #r::deserialize::<#read_tree, __D>(__deserializer, #name, __FIELDS)?;
                    ::core::result::Result::Ok(Self { #(#inits,)* })
                }
            }
        };
    }
}

/// `items` nested as a balanced tree of pairs in order, `()` when empty: the shape of the
/// values `serde_rows` reads and writes, whose depth grows as the logarithm of the number of
/// fields.
fn tree(items: Vec<TokenStream>) -> TokenStream {
    fn nest(items: &[TokenStream]) -> TokenStream {
        match items {
            [] => quote!(()),
            [one] => one.clone(),
            _ => {
                let (left, right) = items.split_at(items.len().div_ceil(2));
                let (left, right) = (nest(left), nest(right));
                quote!((#left, #right))
            }
        }
    }
    nest(&items)
}

/// `Debug` for a generated row type, printing every `sensitive` field as `<redacted>`.
fn debug_impl<'a>(
    table: &Table,
    ty: &syn::Ident,
    columns: impl Iterator<Item = &'a Column<'a>>,
) -> TokenStream {
    let krate = &table.krate;
    let name = ty.to_string();
    let fields = columns.map(|c| {
        let (field, label) = (c.ident, c.ident.to_string());
        if c.is_sensitive() {
            quote!(.field(#label, &#krate::__private::Redacted))
        } else {
            quote!(.field(#label, &self.#field))
        }
    });
    quote! {
        #[automatically_derived]
        impl ::core::fmt::Debug for #ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name) #(#fields)* .finish()
            }
        }
    }
}

/// One associated constant per column, `X::field`, naming the column for foreign keys and typed
/// queries.
fn column_refs(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let (ident, vis, table_name) = (table.ident, table.vis, &table.qualified_name());
    let refs = table.columns.iter().enumerate().map(|(index, c)| {
        let (field, ty, column) = (c.ident, c.ty, &c.name);
        let doc = format!(
            "The `{table_name}.{column}` column, for foreign keys (`references = \
             {ident}::{field}`) and typed queries (`{ident}::{field}.eq(...)`)."
        );
        // One impl block per column, spanned on the field's type: a type without `PgType` is
        // reported there, once.
        let (table_name, column) = (
            syn::LitStr::new(table_name, ty.span()),
            syn::LitStr::new(column, ty.span()),
        );
        let krate = respan(krate, ty.span());
        let ty = if c.is_encrypted() {
            quote_spanned!(ty.span()=> #krate::query::Encrypted<#ty>)
        } else {
            ty.to_token_stream()
        };
        quote_spanned! {ty.span()=>
            // Named as the field; a table's columns need not all be referenced.
            #[allow(non_upper_case_globals, dead_code)]
            impl #ident {
                #[doc = #doc]
                #vis const #field: #krate::ColumnRef<#ident, #ty> =
                    #krate::ColumnRef::new(#table_name, #column, #index);
            }
        }
    });
    quote!(#(#refs)*)
}

/// What typed queries read of the row types: a `SelectX`'s values, to continue a page after
/// it, and an `UpdateX`'s changes, to update rows by a filter.
fn query_impls(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let ident = table.ident;
    let (select, update) = (&table.select_ident, &table.update_ident);
    let query = quote!(#krate::query);
    let seal_patch = seal_patch(table);
    let values = table.columns.iter().map(|c| {
        let field = c.ident;
        quote_spanned!(c.ty.span()=> #query::QueryValue::clone_value(&self.#field))
    });
    let index_changes: Vec<TokenStream> = blind_indexed(table)
        .map(|(_, c, _)| {
            let field = c.ident;
            if table.updatable(c) {
                quote!(out.push(self.#field.as_ref().map(|_| &#krate::__private::UNSEALED as &'a dyn #query::QueryValue));)
            } else {
                quote!(out.push(::core::option::Option::None);)
            }
        })
        .collect();
    let changes = table.columns.iter().map(|c| {
        let field = c.ident;
        if table.updatable(c) && c.is_encrypted() {
            // A placeholder the driver replaces with each row's sealed value (`seal_patch`).
            quote!(out.push(self.#field.as_ref().map(|_| &#krate::__private::UNSEALED as &'a dyn #query::QueryValue));)
        } else if table.updatable(c) {
            quote_spanned!(c.ty.span()=>
                out.push(self.#field.as_ref().map(|value| value as &'a dyn #query::QueryValue));)
        } else {
            quote!(out.push(::core::option::Option::None);)
        }
    });
    quote! {
        #[automatically_derived]
        impl #query::RowValues for #select {
            type Table = #ident;

            fn column_values(&self) -> ::std::vec::Vec<#query::Value> {
                ::std::vec![#(#values),*]
            }
        }

        #[automatically_derived]
        impl #query::PatchValues for #update {
            type Table = #ident;

            fn push_patch<'a>(
                &'a self,
                out: &mut ::std::vec::Vec<::core::option::Option<&'a dyn #query::QueryValue>>,
            ) {
                #(#changes)*
                #(#index_changes)*
            }

            #seal_patch
        }
    }
}

/// `impl Table` and the checks that need the field types.
fn metadata(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let ident = table.ident;
    let (insert, select, update) = (
        &table.insert_ident,
        &table.select_ident,
        &table.update_ident,
    );
    let table_name = &table.name;
    let validate = validate_impls(table);
    let postgres = if cfg!(feature = "postgres") {
        postgres_impls(table)
    } else {
        TokenStream::new()
    };
    let sqlx = if cfg!(feature = "sqlx") {
        sqlx_impls(table)
    } else {
        TokenStream::new()
    };
    let query = query_impls(table);

    let columns = table
        .columns
        .iter()
        .map(|c| column_def(table, c))
        .chain(blind_index_columns(table));
    let checks: Vec<TokenStream> = table
        .columns
        .iter()
        .flat_map(|c| type_checks(table, c))
        .chain(blind_index_bits_checks(table))
        .chain(blind_index_text_checks(table))
        .collect();
    let primary_key = table.primary_key().into_iter().map(|c| &c.name);
    let foreign_keys = table
        .columns
        .iter()
        .filter_map(|c| foreign_key(table, c))
        .chain(
            table
                .attrs
                .foreign_keys
                .iter()
                .map(|fk| composite_foreign_key(table, fk)),
        );
    let references_keys = table
        .attrs
        .foreign_keys
        .iter()
        .map(|fk| references_key(table, fk));
    let unique_keys = table
        .attrs
        .unique_keys
        .iter()
        .map(|key| unique_key(table, key));
    let table_checks = table.attrs.checks.iter().map(|check| {
        let name = check.name.as_ref().expect("checked");
        let parts = sql_parts(table, &check.parts);
        let renamed_from = renamed_from(&check.renamed_from);
        quote!(#krate::CheckDef { name: #name, renamed_from: #renamed_from, sql: #parts })
    });
    let policies = table.attrs.policies.iter().map(|policy| {
        let name = policy.name.as_ref().expect("checked");
        let role = policy.to.as_ref().expect("checked");
        let command = match &policy.command {
            Some(variant) => quote!(#krate::PolicyCommand::#variant),
            None => quote!(#krate::PolicyCommand::All),
        };
        let clause = |sql: &Option<crate::internals::attr::SqlAttr>| {
            option(sql.as_ref().map(|sql| sql_parts(table, &sql.parts)))
        };
        let (using, with_check) = (clause(&policy.using), clause(&policy.with_check));
        let renamed_from = renamed_from(&policy.renamed_from);
        quote! {
            #krate::PolicyDef {
                name: #name,
                renamed_from: #renamed_from,
                command: #command,
                role: #role,
                using: #using,
                with_check: #with_check,
            }
        }
    });
    let row_level_security = table.attrs.row_level_security.is_some();
    let (tenant, tenancy_items) = tenancy(table);
    let reference = table.attrs.reference.is_some();
    let column_grants = table.attrs.grants.iter().map(|grant| {
        let role = grant.to.as_ref().expect("checked");
        let list = |list: &Option<crate::internals::attr::Keyed<Vec<syn::Ident>>>| {
            option(list.as_ref().map(|list| {
                let columns = list
                    .value
                    .iter()
                    .map(|ident| &table.column(ident).expect("checked").name);
                quote!(&[#(#columns),*])
            }))
        };
        let (insert, update) = (list(&grant.insert), list(&grant.update));
        quote!(#krate::ColumnGrantDef { role: #role, insert: #insert, update: #update })
    });
    let indexes = table.attrs.indexes.iter().map(|index| {
        let name = match &index.name {
            Some(name) => quote!(::core::option::Option::Some(#name)),
            None => quote!(::core::option::Option::None),
        };
        let renamed_from = renamed_from(&index.renamed_from);
        let unique = index.unique.is_some();
        let method = match &index.method {
            Some((_, variant)) => quote!(#krate::IndexMethod::#variant),
            None => quote!(#krate::IndexMethod::Btree),
        };
        let columns = index.columns.iter().map(|ic| {
            let key = match &ic.expression {
                Some(sql) => {
                    let parts = sql_parts(table, &sql.parts);
                    quote!(#krate::IndexKey::Expression(#parts))
                }
                None => {
                    let column = &table.column(&ic.ident).expect("checked").name;
                    quote!(#krate::IndexKey::Column(#column))
                }
            };
            let opclass = option(ic.opclass.as_ref().map(|o| quote!(#o)));
            let order = option(ic.descending.map(|desc| {
                let variant = if desc { "Desc" } else { "Asc" };
                let variant = format_ident!("{variant}");
                quote!(#krate::SortOrder::#variant)
            }));
            let nulls = option(ic.nulls_first.map(|first| {
                let variant = format_ident!("{}", if first { "First" } else { "Last" });
                quote!(#krate::NullsOrder::#variant)
            }));
            quote! {
                #krate::IndexColumn { key: #key, opclass: #opclass, order: #order, nulls: #nulls }
            }
        });
        let include = index.include.iter().flat_map(|list| {
            list.value
                .iter()
                .map(|ident| &table.column(ident).expect("checked").name)
        });
        let predicate = option(
            index
                .predicate
                .as_ref()
                .map(|sql| sql_parts(table, &sql.parts)),
        );
        quote! {
            #krate::IndexDef {
                name: #name,
                renamed_from: #renamed_from,
                unique: #unique,
                method: #method,
                columns: &[#(#columns),*],
                include: &[#(#include),*],
                predicate: #predicate,
            }
        }
    });
    let blind_indexes = blind_index_indexes(table);
    let comment = option(table.comment.as_ref().map(|c| quote!(#c)));
    let table_renamed_from = renamed_from(&table.attrs.renamed_from);
    let table_schema = match &table.attrs.schema {
        Some(schema) => quote!(::core::option::Option::Some(#schema)),
        None => quote!(::core::option::Option::None),
    };

    quote! {
        const _: () = {
            #(#checks)*
            #(#references_keys)*
            #tenancy_items
            #validate
            #postgres
            #sqlx
            #query

            #[automatically_derived]
            impl #krate::Table for #ident {
                const TABLE: &'static #krate::TableDef = &#krate::TableDef {
                    name: #table_name,
                    schema: #table_schema,
                    renamed_from: #table_renamed_from,
                    comment: #comment,
                    columns: &[#(#columns),*],
                    primary_key: &[#(#primary_key),*],
                    unique_keys: &[#(#unique_keys),*],
                    foreign_keys: &[#(#foreign_keys),*],
                    checks: &[#(#table_checks),*],
                    indexes: &[#(#indexes,)* #(#blind_indexes),*],
                    row_level_security: #row_level_security,
                    policies: &[#(#policies),*],
                    column_grants: &[#(#column_grants),*],
                    tenant: #tenant,
                    reference: #reference,
                };
                type Insert = #insert;
                type Select = #select;
                type Update = #update;
            }
        };
    }
}

fn column_def(table: &Table, c: &Column) -> TokenStream {
    let krate = &table.krate;
    let (ty, name, field) = (c.ty, &c.name, c.ident.to_string());
    // Spanned on the field's type as a whole, so that a type without `PgType` is reported
    // there, once.
    let pg_type = |item: &str| {
        let item = syn::Ident::new(item, ty.span());
        quote_spanned!(ty.span()=> <#ty as #krate::PgType>::#item)
    };
    let sql_type = if c.is_encrypted() {
        quote!(#krate::SqlType::Bytea)
    } else if let Some(narrowed) = narrowed_type(table, c) {
        narrowed
    } else if let Some(sql) = &c.attrs.sql_type {
        let sql = &sql.value;
        quote!(#krate::SqlType::Custom(#sql))
    } else {
        pg_type("SQL_TYPE")
    };
    let default = option(if let Some(sql) = &c.attrs.default_sql {
        let sql = &sql.value;
        Some(quote!(#krate::ColumnDefault::Sql(#sql)))
    } else {
        c.attrs.default.as_ref().map(|default| {
            let expr = &default.value;
            // An unsuffixed number has no type of its own until it meets the column's: it goes
            // through `NumberDefault`, so a number on a text column is reported at the value.
            let value = if is_bare_number(expr) {
                quote_spanned! {expr.span()=>
                    let value: <#ty as #krate::PgType>::Base =
                        <<#ty as #krate::PgType>::Base as #krate::NumberDefault>::from_number(#expr);
                }
            } else {
                quote_spanned! {expr.span()=>
                    let value: <#ty as #krate::PgType>::Base =
                        #krate::DefaultFor::into_default(#expr);
                }
            };
            quote! {
                #krate::ColumnDefault::Value(#krate::DefaultValue({
                    fn default_literal() -> #krate::SqlLiteral {
                        #value
                        #krate::ToSqlLiteral::to_sql_literal(&value)
                    }
                    default_literal
                }))
            }
        })
    });
    let update_sql = option(c.attrs.update_sql.as_ref().map(|sql| {
        let sql = &sql.value;
        quote!(#sql)
    }));
    let unique = c.attrs.unique.is_some();
    let range = option(c.attrs.range.as_ref().map(|range| {
        let min = option(range.value.min.as_ref().map(|(v, _)| quote!(#v)));
        let max = option(range.value.max.as_ref().map(|(v, _)| quote!(#v)));
        quote!(#krate::IntRange { min: #min, max: #max })
    }));
    let (sensitive, internal, immutable) = (
        c.is_sensitive(),
        c.attrs.internal.is_some(),
        c.attrs.immutable.is_some(),
    );
    let generation = option(if let Some(identity) = &c.attrs.identity {
        let i = &identity.value;
        let always = i.mode.as_ref().is_some_and(|m| m == "always");
        let number = |n: Option<i64>| option(n.map(|n| quote!(#n)));
        let (start, increment, min, max, cache) = (
            number(i.start),
            number(i.increment),
            number(i.min),
            number(i.max),
            number(i.cache),
        );
        let cycle = i.cycle;
        Some(quote! {
            #krate::Generation::Identity(#krate::Identity {
                always: #always,
                start: #start,
                increment: #increment,
                min_value: #min,
                max_value: #max,
                cache: #cache,
                cycle: #cycle,
            })
        })
    } else {
        c.attrs.generated.as_ref().map(|generated| {
            let parts = sql_parts(table, &generated.value.parts);
            quote!(#krate::Generation::Stored(#parts))
        })
    });
    let using = option(
        c.attrs
            .using
            .as_ref()
            .map(|using| sql_parts(table, &using.value.parts)),
    );
    let comment = option(column_comment(c).map(|c| quote!(#c)));
    let (nullable, allowed_values, renamed_values) = (
        pg_type("NULLABLE"),
        pg_type("ALLOWED_VALUES"),
        pg_type("RENAMED_VALUES"),
    );
    let (allowed_values, renamed_values) = if c.is_encrypted() {
        (quote!(::core::option::Option::None), quote!(&[]))
    } else {
        (allowed_values, renamed_values)
    };
    let encryption = option(c.is_encrypted().then(|| {
        let blind_index = option(c.attrs.blind_index.as_ref().map(|index| {
            let column = format!("{}_bidx", c.name);
            let (bits, population) = (&index.value.bits, &index.value.population);
            let asked = |word: &str| {
                index
                    .value
                    .normalize
                    .as_ref()
                    .is_some_and(|(_, words)| words.iter().any(|w| w == word))
            };
            let (trim, lowercase) = (asked("trim"), asked("lowercase"));
            quote! {
                #krate::BlindIndexDef {
                    column: #column,
                    bits: #bits,
                    population: #population,
                    normalize: #krate::BlindNormalization { trim: #trim, lowercase: #lowercase },
                }
            }
        }));
        let migrating = c.attrs.encrypted_migrating.is_some();
        quote! {
            #krate::EncryptionDef {
                blind_index: #blind_index,
                blind_index_of: ::core::option::Option::None,
                accepts_plaintext: #migrating,
            }
        }
    }));
    let column_renamed_from = renamed_from(&c.attrs.renamed_from);
    let rust_type = ty
        .to_token_stream()
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace(" :: ", "::")
        .replace(" ,", ",");
    quote! {
        #krate::ColumnDef {
            name: #name,
            renamed_from: #column_renamed_from,
            field: #field,
            rust_type: #rust_type,
            sql_type: #sql_type,
            nullable: #nullable,
            default: #default,
            update_sql: #update_sql,
            unique: #unique,
            allowed_values: #allowed_values,
            renamed_values: #renamed_values,
            range: #range,
            comment: #comment,
            sensitive: #sensitive,
            internal: #internal,
            immutable: #immutable,
            generation: #generation,
            encryption: #encryption,
            using: #using,
        }
    }
}

/// The SQL type an attribute narrows the field's type to (`varchar`, `char`, `numeric`,
/// `precision`), computed by schema-core from the field's `PgType` so that an array
/// field becomes an array of the narrowed element.
fn narrowed_type(table: &Table, c: &Column) -> Option<TokenStream> {
    let krate = &table.krate;
    let ty = c.ty;
    let base = quote_spanned!(ty.span()=> <#ty as #krate::PgType>::SQL_TYPE);
    let a = &c.attrs;
    let narrowed = if let Some(varchar) = &a.varchar {
        let n = varchar.value;
        quote!(#krate::SqlType::Varchar(#n))
    } else if let Some(char) = &a.char {
        let n = char.value;
        quote!(#krate::SqlType::Char(#n))
    } else if a.citext.is_some() {
        quote!(#krate::SqlType::Citext)
    } else if let Some(numeric) = &a.numeric {
        let (p, s) = (numeric.value.precision, numeric.value.scale);
        quote!(#krate::SqlType::Numeric(::core::option::Option::Some((#p, #s))))
    } else if let Some(precision) = &a.precision {
        let p = precision.value;
        return Some(quote! {
            #krate::__private::with_precision(#base, &[
                #krate::SqlType::TimestampPrecision(#p),
                #krate::SqlType::TimestamptzPrecision(#p),
                #krate::SqlType::TimePrecision(#p),
            ])
        });
    } else {
        return None;
    };
    Some(quote!(#krate::__private::narrow(#base, &#narrowed)))
}

/// The integer type a field is written as: `i16`, `i32` or `i64`, or an `Option` of one.
fn written_integer(ty: &syn::Type) -> Option<&syn::Ident> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() || path.path.segments.len() != 1 {
        return None;
    }
    let segment = &path.path.segments[0];
    match &segment.arguments {
        syn::PathArguments::None => ["i16", "i32", "i64"]
            .iter()
            .any(|int| segment.ident == int)
            .then_some(&segment.ident),
        syn::PathArguments::AngleBracketed(args) if segment.ident == "Option" => {
            match args.args.iter().collect::<Vec<_>>().as_slice() {
                [syn::GenericArgument::Type(inner)] => written_integer(inner),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `expr` is a number literal without a suffix (`7`, `-7`, `0.5`).
fn is_bare_number(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int.suffix().is_empty(),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Float(float),
            ..
        }) => float.suffix().is_empty(),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => is_bare_number(expr),
        syn::Expr::Group(group) => is_bare_number(&group.expr),
        _ => false,
    }
}

/// Checks that tie an attribute to the field's type, each spanned on the token to change.
fn type_checks(table: &Table, c: &Column) -> Vec<TokenStream> {
    let krate = &table.krate;
    let ty = c.ty;
    let mut checks = Vec::new();

    let nullable_message = if c.is_option {
        "this type is written `Option<...>` but its `PgType` is not nullable"
    } else {
        "this type is nullable: write it as `Option<...>` so the generated row types treat it as nullable"
    };
    let nullable_message = syn::LitStr::new(nullable_message, ty.span());
    let negate = c.is_option.then(|| quote_spanned!(ty.span()=> !));
    // A plain `if` on the constant: the tokens carry the user's spans, so lints see them, and
    // `assert!` or `== true` would draw clippy's warnings in the user's crate.
    checks.push(quote_spanned! {ty.span()=>
        const _: () = if #negate <#ty as #krate::PgType>::NULLABLE {
            ::core::panic!(#nullable_message)
        };
    });

    if let Some(varchar) = &c.attrs.varchar {
        let n = varchar.value;
        let span = varchar.key.span();
        let ty = respan(ty, span);
        let message = format!(
            "`varchar = {n}` is shorter than a value of this field's enum; \
             raise the length or shorten the value"
        );
        checks.push(quote_spanned! {span=>
            const _: () = #krate::__private::text_column::<#ty>();
            const _: () = ::core::assert!(
                #krate::__private::values_fit(<#ty as #krate::PgType>::ALLOWED_VALUES, #n),
                #message
            );
        });
    }
    checks.extend(narrowing_checks(table, c));
    if let Some(sql_type) = &c.attrs.sql_type {
        let lit = &sql_type.value;
        let span = lit.span();
        let ty = respan(ty, span);
        let message = format!(
            "`sql_type = {:?}` cannot hold the values of this field's Rust type; \
             change the SQL type or the field's type",
            lit.value()
        );
        let native = format!(
            "`sql_type = {:?}` on a field of a native enum type: its column is of the type the \
             schema creates for the enum, and a type written out is not created; remove \
             `sql_type` (a type in a PostgreSQL schema is declared on the enum: \
             `#[pg(native, schema = \"...\")]`)",
            lit.value()
        );
        checks.push(quote_spanned! {span=>
            const _: () = ::core::assert!(
                #krate::__private::sql_type_writable(<#ty as #krate::PgType>::SQL_TYPE),
                #native
            );
            const _: () = ::core::assert!(
                #krate::__private::sql_type_fits(<#ty as #krate::PgType>::SQL_TYPE, #lit),
                #message
            );
        });
    }
    if let Some(identity) = &c.attrs.identity {
        let span = identity.key.span();
        let ty = respan(ty, span);
        checks.push(quote_spanned! {span=>
            const _: () = #krate::__private::identity_column::<#ty>();
        });
    }
    if let Some(range) = &c.attrs.range {
        let span = range.key.span();
        let bounds = [&range.value.min, &range.value.max];
        if let Some(int) = written_integer(ty) {
            // Each bound becomes a constant of the integer type the field is written as, so a
            // bound the type cannot hold is rustc's out-of-range literal error at that bound,
            // naming the type.
            let int = syn::Ident::new(&int.to_string(), span);
            for (_, lit) in bounds.into_iter().flatten() {
                checks.push(quote_spanned!(span=> const _: #int = #lit;));
            }
        } else {
            // Any other type: it must be an integer column (one error at `range` otherwise),
            // and the bounds are compared with its limits when the constant is evaluated.
            let ty = respan(ty, span);
            let bound = |b: &Option<(i64, proc_macro2::Literal)>| match b {
                Some((_, lit)) => quote_spanned!(span=> ::core::option::Option::Some(#lit)),
                None => quote_spanned!(span=> ::core::option::Option::None),
            };
            let (min, max) = (bound(&range.value.min), bound(&range.value.max));
            checks.push(quote_spanned! {span=>
                const _: () = ::core::assert!(
                    #krate::__private::range_fits::<#ty>(#min, #max),
                    "a bound of this range does not fit in the field's integer type"
                );
            });
        }
    }
    checks
}

/// The checks of `char`, `numeric` and `precision`: each compiles only on a field
/// of the kind it narrows, reported at the key.
fn narrowing_checks(table: &Table, c: &Column) -> Vec<TokenStream> {
    let krate = &table.krate;
    let a = &c.attrs;
    let mut checks = Vec::new();
    if let Some(char) = &a.char {
        let n = char.value;
        let span = char.key.span();
        let ty = respan(c.ty, span);
        let message = format!(
            "`char = {n}` pads a value of this field's enum with spaces, which would not read \
             back: give every value {n} characters, or use `varchar`"
        );
        checks.push(quote_spanned! {span=>
            const _: () = #krate::__private::text_column::<#ty>();
            const _: () = ::core::assert!(
                #krate::__private::values_fill(<#ty as #krate::PgType>::ALLOWED_VALUES, #n),
                #message
            );
        });
    }
    if let Some(citext) = &a.citext {
        let ty = respan(c.ty, citext.span());
        checks.push(quote_spanned! {citext.span()=>
            const _: () = #krate::__private::text_column::<#ty>();
        });
    }
    if let Some(numeric) = &a.numeric {
        let span = numeric.key.span();
        let ty = respan(c.ty, span);
        checks.push(quote_spanned! {span=>
            const _: () = #krate::__private::numeric_column::<#ty>();
        });
    }
    if let Some(precision) = &a.precision {
        let span = precision.key.span();
        let ty = respan(c.ty, span);
        checks.push(quote_spanned! {span=>
            const _: () = #krate::__private::timestamp_column::<#ty>();
        });
    }
    checks
}

fn foreign_key(table: &Table, c: &Column) -> Option<TokenStream> {
    let krate = &table.krate;
    let references = c.attrs.references.as_ref()?;
    let (ty, path, column) = (c.ty, &references.value, &c.name);
    // Spanned on the column's name: the token to change when the types differ.
    let column_span = path
        .segments
        .last()
        .map_or_else(|| path.span(), |s| s.ident.span());
    let target = quote_spanned! {column_span=>
        #path.referenced_by::<<#ty as #krate::PgType>::Base>()
    };
    let action = |action: &Option<crate::internals::attr::Keyed<syn::Ident>>| match action {
        Some(action) => {
            let variant = &action.value;
            quote!(#krate::ReferentialAction::#variant)
        }
        None => quote!(#krate::ReferentialAction::NoAction),
    };
    let (on_delete, on_update) = (action(&c.attrs.on_delete), action(&c.attrs.on_update));
    Some(quote! {
        #krate::ForeignKeyDef {
            name: ::core::option::Option::None,
            columns: &[#column],
            references_table: #target.table,
            references_columns: &[#target.column],
            on_delete: #on_delete,
            on_update: #on_update,
        }
    })
}

/// A struct-level `unique(...)` as a `UniqueDef`.
fn unique_key(table: &Table, key: &UniqueAttr) -> TokenStream {
    let krate = &table.krate;
    let name = option(key.name.as_ref().map(|name| quote!(#name)));
    let columns = key
        .columns
        .iter()
        .map(|ident| &table.column(ident).expect("checked").name);
    let nulls_not_distinct = key.nulls_not_distinct.is_some();
    quote! {
        #krate::UniqueDef {
            name: #name,
            columns: &[#(#columns),*],
            nulls_not_distinct: #nulls_not_distinct,
        }
    }
}

/// The referenced columns of a struct-level foreign key, each as its typed column constant
/// checked against the referencing field's type: spanned on the referenced column's name, the
/// token to change when the types differ, as for a field's `references`.
fn referenced_columns(table: &Table, fk: &ForeignKeyAttr) -> Vec<TokenStream> {
    let krate = &table.krate;
    let columns = &fk.columns.as_ref().expect("checked").value;
    let references = &fk.references.as_ref().expect("checked").value;
    columns
        .iter()
        .zip(references)
        .map(|(ident, path)| {
            let ty = table.column(ident).expect("checked").ty;
            let span = path.segments.last().expect("checked").ident.span();
            quote_spanned! {span=>
                #path.referenced_by::<<#ty as #krate::PgType>::Base>()
            }
        })
        .collect()
}

/// A struct-level `foreign_key(...)` as a `ForeignKeyDef`.
fn composite_foreign_key(table: &Table, fk: &ForeignKeyAttr) -> TokenStream {
    let krate = &table.krate;
    let name = option(fk.name.as_ref().map(|name| quote!(#name)));
    let columns = fk
        .columns
        .as_ref()
        .expect("checked")
        .value
        .iter()
        .map(|ident| &table.column(ident).expect("checked").name);
    let targets = referenced_columns(table, fk);
    let first = &targets[0];
    let action = |action: &Option<Keyed<syn::Ident>>| match action {
        Some(action) => {
            let variant = &action.value;
            quote!(#krate::ReferentialAction::#variant)
        }
        None => quote!(#krate::ReferentialAction::NoAction),
    };
    let (on_delete, on_update) = (action(&fk.on_delete), action(&fk.on_update));
    quote! {
        #krate::ForeignKeyDef {
            name: #name,
            columns: &[#(#columns),*],
            references_table: #first.table,
            references_columns: &[#(#targets.column),*],
            on_delete: #on_delete,
            on_update: #on_update,
        }
    }
}

/// The check that a struct-level foreign key references a key of its table (its primary key
/// or a unique constraint, as PostgreSQL requires), made on that table's metadata when the
/// crate compiles, and reported at `references`. A table whose own declaration does not
/// compile (its metadata empty) is not judged: its error is the one to fix.
fn references_key(table: &Table, fk: &ForeignKeyAttr) -> TokenStream {
    let krate = &table.krate;
    let references = fk.references.as_ref().expect("checked");
    let mut target = references.value[0].clone();
    target.segments.pop();
    target.segments.pop_punct();
    let span = references.key.span();
    let target_type = respan(&target, span);
    let krate_spanned = respan(krate, span);
    let paths = &references.value;
    let fields: Vec<String> = paths
        .iter()
        .map(|p| p.segments.last().expect("checked").ident.to_string())
        .collect();
    let message = format!(
        "the columns ({}) of `{}` are not its primary key nor one of its unique keys, which a foreign key must reference: reference its key, or declare `unique({})` on `{}`",
        fields.join(", "),
        target.to_token_stream().to_string().replace(' ', ""),
        fields.join(", "),
        target.to_token_stream().to_string().replace(' ', ""),
    );
    quote_spanned! {span=>
        const _: () = {
            let target = <#target_type as #krate_spanned::Table>::TABLE;
            if !target.name.is_empty() && !target.has_key(&[#(#paths.column),*]) {
                ::core::panic!(#message)
            }
        };
    }
}

/// A `renamed_from = "..."` as the metadata's `Option<&'static str>`.
fn renamed_from(old: &Option<syn::LitStr>) -> TokenStream {
    option(old.as_ref().map(|old| quote!(#old)))
}

/// The table's `TenantDef`, and what goes with it: the `TenantRoot` impl of a tenant root, the
/// check that a tenant column is of its root's key type (reported at the field's type) and
/// that the named type is a tenant root (reported at its name).
fn tenancy(table: &Table) -> (TokenStream, TokenStream) {
    let krate = &table.krate;
    let ident = table.ident;
    if table.attrs.tenant_root.is_some() {
        let key = table.primary_key();
        let [key] = key.as_slice() else {
            // Reported by the checks.
            return (quote!(::core::option::Option::None), TokenStream::new());
        };
        let (ty, name) = (key.ty, &key.name);
        let qualified = table.qualified_name();
        let def = quote!(::core::option::Option::Some(#krate::TenantDef::Root { key: #name }));
        let items = quote! {
            #[automatically_derived]
            impl #krate::TenantRoot for #ident {
                type Key = <#ty as #krate::PgType>::Base;
                const KEY: &'static str = #name;
                const TABLE_NAME: &'static str = #qualified;
            }
        };
        return (def, items);
    }
    let Some((column, tenant)) = table
        .columns
        .iter()
        .find_map(|c| c.attrs.tenant.as_ref().map(|t| (c, t)))
    else {
        return (quote!(::core::option::Option::None), TokenStream::new());
    };
    let (ty, name, root) = (column.ty, &column.name, &tenant.value);
    let root_trait = quote_spanned!(root.span()=> <#root as #krate::TenantRoot>);
    let def = quote! {
        ::core::option::Option::Some(#krate::TenantDef::Member {
            column: #name,
            root: #root_trait::TABLE_NAME,
            root_key: #root_trait::KEY,
        })
    };
    let items = quote_spanned! {ty.span()=>
        const _: () = #krate::__private::tenant_column::<
            <#ty as #krate::PgType>::Base,
            #root_trait::Key,
        >();
    };
    (def, items)
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// `tokens` with every span set to `span`, so that an error about them points at the
/// attribute that asked for the check rather than at the field's type.
fn respan(tokens: impl ToTokens, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_token_stream()
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// `Validate` for the Insert and Update types: each field checked against its column.
fn validate_impls(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let ident = table.ident;
    let checks = |fields: Vec<(usize, &Column)>| {
        // Spanned on the field's type: a type without `PgType` is reported there.
        let calls = fields.into_iter().map(|(index, c)| {
            let field = c.ident;
            quote_spanned!(c.ty.span()=> .check(#index, &self.#field))
        });
        quote! {
            fn validate(&self) -> ::core::result::Result<(), #krate::ValidationError> {
                #krate::ValidationError::collect(<#ident as #krate::Table>::TABLE)
                    #(#calls)*
                    .finish()
            }
        }
    };
    let all = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.filled_by_database())
        .collect();
    let updatable = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| table.updatable(c))
        .collect();
    let (insert, update) = (&table.insert_ident, &table.update_ident);
    let (insert_body, update_body) = (checks(all), checks(updatable));
    quote! {
        #[automatically_derived]
        impl #krate::Validate for #insert {
            #insert_body
        }

        #[automatically_derived]
        impl #krate::Validate for #update {
            #update_body
        }
    }
}

/// Parameter binding, row decoding and the key, for schema-core's `pg` module.
/// The pushes of an `InsertX`'s values, one per column, for a driver whose parameter type is
/// `param`: `None` for a column the database fills and for a defaulted column left `None`
/// (the column is left out, so its default applies); a nullable column without a default is
/// left out when `None` too (its NULL is its default, so that a role allowed to write only
/// some columns can insert the row), unless the driver asks for typed NULLs (`bind_nulls`, a
/// variable of the generated method, read only when `asks_for_nulls`).
fn insert_values(table: &Table, param: &TokenStream, asks_for_nulls: bool) -> Vec<TokenStream> {
    let bind_nulls = asks_for_nulls.then(|| quote!(bind_nulls ||));
    table
        .columns
        .iter()
        .map(|c| {
            let field = c.ident;
            if c.filled_by_database() {
                quote!(out.push(::core::option::Option::None);)
            } else if c.is_encrypted() && !c.is_option {
                let krate = &table.krate;
                quote!(out.push(::core::option::Option::Some(&#krate::__private::UNSEALED as #param));)
            } else if c.is_encrypted() {
                let krate = &table.krate;
                quote! {
                    out.push(if #bind_nulls #krate::__private::is_set(&self.#field) {
                        ::core::option::Option::Some(&#krate::__private::UNSEALED as #param)
                    } else {
                        ::core::option::Option::None
                    });
                }
            } else if c.has_default() {
                quote_spanned!(c.ty.span()=> out.push(self.#field.as_ref().map(|value| value as #param));)
            } else if c.is_option {
                quote_spanned! {c.ty.span()=>
                    out.push(if #bind_nulls self.#field.is_some() {
                        ::core::option::Option::Some(&self.#field as #param)
                    } else {
                        ::core::option::Option::None
                    });
                }
            } else {
                quote_spanned!(c.ty.span()=> out.push(::core::option::Option::Some(&self.#field));)
            }
        })
        .chain(blind_indexed(table).map(|(_, c, _)| {
            // The blind index is bound where its field is (placeholders the driver replaces).
            let (field, krate) = (c.ident, &table.krate);
            if c.is_option {
                quote! {
                    out.push(if #bind_nulls #krate::__private::is_set(&self.#field) {
                        ::core::option::Option::Some(&#krate::__private::UNSEALED as #param)
                    } else {
                        ::core::option::Option::None
                    });
                }
            } else {
                quote!(out.push(::core::option::Option::Some(&#krate::__private::UNSEALED as #param));)
            }
        }))
        .collect()
}

/// The binding of a row's encrypted columns, from the values `value(column, position in the
/// primary key)` gives (the fields of `self`, the key's parts, or locals of a decoded row):
/// `__tenant` (the tenant column's bytes) and `__key` (the primary key's columns, each
/// length-prefixed). The checks make sure the tenant column is part of the primary key.
fn binding(table: &Table, value: impl Fn(&Column, usize) -> TokenStream) -> TokenStream {
    let krate = &table.krate;
    let key = table.primary_key();
    let parts = key.iter().enumerate().map(|(i, c)| {
        let v = value(c, i);
        quote!(#krate::crypto::push_binding_part(&mut __key, #v);)
    });
    let tenant = key
        .iter()
        .enumerate()
        .find(|(_, c)| c.attrs.tenant.is_some())
        .map(|(i, c)| value(c, i))
        .unwrap_or_else(|| quote!(&()));
    quote! {
        let __tenant = #krate::crypto::tenant_bytes(#tenant);
        let mut __key = ::std::vec::Vec::new();
        #(#parts)*
    }
}

/// The encrypted fields with a blind index, with their column's position.
fn blind_indexed<'t, 'a>(
    table: &'t Table<'a>,
) -> impl Iterator<
    Item = (
        usize,
        &'t Column<'a>,
        &'t crate::internals::attr::BlindIndexAttr,
    ),
> + 't {
    table
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.attrs.blind_index.as_ref().map(|b| (i, c, &b.value)))
}

/// The columns that hold the blind indexes, after the fields' columns: `bytea`, nullable as
/// their field is, no field of their own.
fn blind_index_columns(table: &Table) -> Vec<TokenStream> {
    let krate = &table.krate;
    blind_indexed(table)
        .map(|(_, c, _)| {
            let (name, of, ty) = (format!("{}_bidx", c.name), &c.name, c.ty);
            let comment = format!(
                "Blind index of `{of}`: a truncated HMAC, keyed per tenant and column, for \
                 exact-match lookups."
            );
            quote! {
                #krate::ColumnDef {
                    name: #name,
                    renamed_from: ::core::option::Option::None,
                    field: #of,
                    rust_type: "Vec<u8>",
                    sql_type: #krate::SqlType::Bytea,
                    nullable: <#ty as #krate::PgType>::NULLABLE,
                    default: ::core::option::Option::None,
                    update_sql: ::core::option::Option::None,
                    unique: false,
                    allowed_values: ::core::option::Option::None,
                    renamed_values: &[],
                    range: ::core::option::Option::None,
                    comment: ::core::option::Option::Some(#comment),
                    sensitive: true,
                    internal: false,
                    immutable: false,
                    generation: ::core::option::Option::None,
                    using: ::core::option::Option::None,
                    encryption: ::core::option::Option::Some(#krate::EncryptionDef {
                        blind_index: ::core::option::Option::None,
                        blind_index_of: ::core::option::Option::Some(#of),
                        accepts_plaintext: false,
                    }),
                }
            }
        })
        .collect()
}

/// The index `(tenant, {column}_bidx)` of each blind index: the lookups are by tenant.
fn blind_index_indexes(table: &Table) -> Vec<TokenStream> {
    let krate = &table.krate;
    let tenant = table
        .columns
        .iter()
        .find(|c| c.attrs.tenant.is_some())
        .map(|c| c.name.clone());
    blind_indexed(table)
        .map(|(_, c, _)| {
            let bidx = format!("{}_bidx", c.name);
            let key = |name: &str| {
                quote! {
                    #krate::IndexColumn {
                        key: #krate::IndexKey::Column(#name),
                        opclass: ::core::option::Option::None,
                        order: ::core::option::Option::None,
                        nulls: ::core::option::Option::None,
                    }
                }
            };
            let keys = tenant.iter().map(|t| key(t)).chain([key(&bidx)]);
            quote! {
                #krate::IndexDef {
                    name: ::core::option::Option::None,
                    renamed_from: ::core::option::Option::None,
                    unique: false,
                    method: #krate::IndexMethod::Btree,
                    columns: &[#(#keys),*],
                    include: &[],
                    predicate: ::core::option::Option::None,
                }
            }
        })
        .collect()
}

/// A compile error at `bits` when the blind index keeps more bits than its population allows
/// next to the table's other blind indexes (CipherSweet's planner, in schema-core).
fn blind_index_bits_checks(table: &Table) -> Vec<TokenStream> {
    let krate = &table.krate;
    let all: Vec<_> = blind_indexed(table).collect();
    all.iter()
        .map(|(i, c, index)| {
            let others = all.iter().filter(|(j, _, _)| j != i).map(|(_, _, other)| {
                let bits = &other.bits;
                quote!(#krate::crypto::ExistingIndex { bits: #bits, domain_bits: u32::MAX })
            });
            let (bits, population) = (&index.bits, &index.population);
            let message = format!(
                "`blind_index(bits = {bits})` on `{}` keeps more bits than {population} rows \
                 allow (CipherSweet's planner, with the table's other blind indexes): so few \
                 rows share each index value that it would identify them; keep fewer bits, or \
                 declare the population the table will reach",
                c.ident,
                bits = bits.base10_digits(),
                population = population.base10_digits(),
            );
            quote_spanned! {bits.span()=>
                const _: () = {
                    let range = #krate::crypto::recommended_bits(#population, &[#(#others),*], u32::MAX);
                    if #bits > range.max {
                        ::core::panic!(#message);
                    }
                };
            }
        })
        .collect()
}

/// A compile error at `normalize` when the field is not text: only a text is trimmed or
/// lowercased before it is indexed.
fn blind_index_text_checks(table: &Table) -> Vec<TokenStream> {
    let krate = &table.krate;
    blind_indexed(table)
        .filter_map(|(_, c, index)| {
            let (key, _) = index.normalize.as_ref()?;
            let ty = c.ty;
            Some(quote_spanned! {key.span()=>
                const _: fn() = {
                    fn normalized_text<T: #krate::crypto::TextField>() {}
                    normalized_text::<#ty>
                };
            })
        })
        .collect()
}

/// `fn seal_into`: the row's encrypted columns sealed into a driver's `Sealer`, in column
/// order, then its blind indexes; its binding built in the sealer's buffers.
fn seal_insert_into(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let ident = table.ident;
    if !cfg!(feature = "encrypt") || !table.columns.iter().any(|c| c.is_encrypted()) {
        return TokenStream::new();
    }
    let key = table.primary_key();
    let parts = key.iter().map(|c| {
        let f = c.ident;
        quote!(#krate::crypto::push_binding_part(__key, &self.#f);)
    });
    let tenant = key
        .iter()
        .find(|c| c.attrs.tenant.is_some())
        .map(|c| {
            let f = c.ident;
            quote!(&self.#f)
        })
        .unwrap_or_else(|| quote!(&()));
    let sealed = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_encrypted())
        .map(|(i, c)| {
            let f = c.ident;
            quote!(sealer.seal(table, #i, &self.#f)?;)
        })
        .chain(blind_indexed(table).map(|(i, c, index)| {
            let (f, bits) = (c.ident, &index.bits);
            quote!(sealer.blind(table, #i, &self.#f, #bits)?;)
        }));
    quote! {
        fn seal_into(
            &self,
            sealer: &mut #krate::crypto::Sealer<'_>,
        ) -> ::core::result::Result<(), #krate::crypto::CryptoError> {
            let table = <#ident as #krate::Table>::TABLE;
            let (__tenant, __key) = sealer.next_row();
            #krate::crypto::push_tenant_bytes(__tenant, #tenant);
            #(#parts)*
            #(#sealed)*
            ::core::result::Result::Ok(())
        }
    }
}

/// `fn seal_changes`: the sealed value of every encrypted column an `UpdateX` sets (`None`
/// for those it leaves), bound to the row of `key`: [`seal_patch`]'s, with the key's bytes.
fn seal_update(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let ident = table.ident;
    if !cfg!(feature = "encrypt") || !table.columns.iter().any(|c| c.is_encrypted()) {
        return TokenStream::new();
    }
    let bind = bind_key(table);
    quote! {
        fn seal_changes(
            &self,
            key: &<#ident as #krate::pg::KeyedTable>::Key,
            keys: &#krate::crypto::Keys,
        ) -> ::core::result::Result<
            ::std::vec::Vec<::core::option::Option<::core::option::Option<::std::vec::Vec<u8>>>>,
            #krate::crypto::CryptoError,
        > {
            #bind
            <Self as #krate::query::PatchValues>::seal_patch(self, &__tenant, &__key, keys)
        }
    }
}

/// `fn seal_patch`: the sealed value of every encrypted column (then every blind index) an
/// `UpdateX` sets (`None` for those it leaves), bound to a row given by its tenant's and key's
/// bytes: what an update by key and an update by filter (row by row) both seal.
fn seal_patch(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let ident = table.ident;
    if !cfg!(feature = "encrypt") || !table.columns.iter().any(|c| c.is_encrypted()) {
        return TokenStream::new();
    }
    let sealed = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_encrypted())
        .map(|(i, c)| {
            let f = c.ident;
            if table.updatable(c) {
                quote! {
                    match &self.#f {
                        ::core::option::Option::Some(value) => ::core::option::Option::Some(
                            #krate::crypto::seal_field(keys, table, #i, tenant, row_key, value)?,
                        ),
                        ::core::option::Option::None => ::core::option::Option::None,
                    }
                }
            } else {
                quote!(::core::option::Option::None)
            }
        })
        .chain(blind_indexed(table).map(|(i, c, index)| {
            let (f, bits) = (c.ident, &index.bits);
            if table.updatable(c) {
                quote! {
                    match &self.#f {
                        ::core::option::Option::Some(value) => ::core::option::Option::Some(
                            #krate::crypto::blind_field(keys, table, #i, tenant, value, #bits)?,
                        ),
                        ::core::option::Option::None => ::core::option::Option::None,
                    }
                }
            } else {
                quote!(::core::option::Option::None)
            }
        }));
    quote! {
        fn seal_patch(
            &self,
            tenant: &[u8],
            row_key: &[u8],
            keys: &#krate::crypto::Keys,
        ) -> ::core::result::Result<
            ::std::vec::Vec<::core::option::Option<::core::option::Option<::std::vec::Vec<u8>>>>,
            #krate::crypto::CryptoError,
        > {
            let table = <#ident as #krate::Table>::TABLE;
            ::core::result::Result::Ok(::std::vec![#(#sealed),*])
        }
    }
}

/// The position in the table of each key column, in key order.
fn key_columns<'t, 'a>(table: &'t Table<'a>) -> Vec<(usize, &'t Column<'a>)> {
    table
        .primary_key()
        .into_iter()
        .filter_map(|k| {
            let at = table.columns.iter().position(|c| c.ident == k.ident)?;
            Some((at, &table.columns[at]))
        })
        .collect()
}

/// `fn row_binding` of the tokio-postgres `FromRow`: the tenant's and key's bytes of a row, its
/// key columns at `key_at`, each decoded as its field's type, then bound as an insert binds
/// them ([`binding`]).
fn pg_row_binding(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let ident = table.ident;
    if !cfg!(feature = "encrypt") || !table.columns.iter().any(|c| c.is_encrypted()) {
        return TokenStream::new();
    }
    let pg = quote!(#krate::pg);
    let local = |i: usize| format_ident!("__key_{}", i);
    let decoded = key_columns(table)
        .into_iter()
        .enumerate()
        .map(|(i, (at, c))| {
            let (l, ty) = (local(i), c.ty);
            quote_spanned! {c.ty.span()=>
                let #l = #pg::decode::<#ty>(
                    row,
                    key_at[#i],
                    table,
                    #at,
                    <#ty as #krate::PgType>::ROUNDS_JSON_NUMBERS,
                )?;
            }
        });
    let bind = binding(table, |_, i| {
        let l = local(i);
        quote!(&#l)
    });
    quote! {
        fn row_binding(
            row: &#pg::tokio_postgres::Row,
            key_at: &[usize],
        ) -> ::core::result::Result<(::std::vec::Vec<u8>, ::std::vec::Vec<u8>), #pg::DecodeError> {
            let table = <#ident as #krate::Table>::TABLE;
            #(#decoded)*
            #bind
            ::core::result::Result::Ok((__tenant, __key))
        }
    }
}

/// The body of a `from_row`: every plain column decoded into a local by `plain`, then every
/// encrypted one opened (bound to the row's tenant and key, read from those locals) by `open`.
fn decode_row(
    table: &Table,
    plain: impl Fn(usize, &Column) -> TokenStream,
    open: impl Fn(usize, &Column) -> TokenStream,
) -> TokenStream {
    let local = |c: &Column| format_ident!("__{}", c.ident);
    let plains = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.is_encrypted())
        .map(|(i, c)| {
            let (l, v) = (local(c), plain(i, c));
            quote!(let #l = #v;)
        });
    let encrypted: Vec<_> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_encrypted())
        .collect();
    let bind = if encrypted.is_empty() {
        TokenStream::new()
    } else {
        binding(table, |c, _| {
            let l = local(c);
            quote!(&#l)
        })
    };
    let opens = encrypted.iter().map(|(i, c)| {
        let (l, v) = (local(c), open(*i, c));
        quote!(let #l = #v;)
    });
    let fields = table.columns.iter().map(|c| {
        let (f, l) = (c.ident, local(c));
        quote!(#f: #l)
    });
    quote! {
        #(#plains)*
        #bind
        #(#opens)*
        ::core::result::Result::Ok(Self { #(#fields,)* })
    }
}

fn postgres_impls(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let ident = table.ident;
    let (insert, select, update) = (
        &table.insert_ident,
        &table.select_ident,
        &table.update_ident,
    );
    let pg = quote!(#krate::pg);

    let values = insert_values(table, &quote!(#pg::Param<'a>), false);
    let index_changes: Vec<TokenStream> = blind_indexed(table)
        .map(|(_, c, _)| {
            let field = c.ident;
            if table.updatable(c) {
                quote!(out.push(self.#field.as_ref().map(|_| &#krate::__private::UNSEALED as #pg::Param<'a>));)
            } else {
                quote!(out.push(::core::option::Option::None);)
            }
        })
        .collect();
    let changes = table.columns.iter().map(|c| {
        let field = c.ident;
        if table.updatable(c) && c.is_encrypted() {
            quote!(out.push(self.#field.as_ref().map(|_| &#krate::__private::UNSEALED as #pg::Param<'a>));)
        } else if table.updatable(c) {
            quote_spanned!(c.ty.span()=> out.push(self.#field.as_ref().map(|value| value as #pg::Param<'a>));)
        } else {
            quote!(out.push(::core::option::Option::None);)
        }
    });
    let decoded = decode_row(
        table,
        |i, c| {
            let ty = c.ty;
            quote_spanned! {c.ty.span()=>
                #pg::decode::<#ty>(
                    row,
                    indexes[#i],
                    table,
                    #i,
                    <#ty as #krate::PgType>::ROUNDS_JSON_NUMBERS,
                )?
            }
        },
        |i, c| {
            let ty = c.ty;
            quote_spanned! {c.ty.span()=>
                #pg::decode_encrypted::<#ty>(row, indexes[#i], table, #i, &__tenant, &__key)?
            }
        },
    );
    let (seal, seal_changes) = (seal_insert_into(table), seal_update(table));
    let row_binding = pg_row_binding(table);

    let keyed = if let Some(key_type) = key_type(table) {
        let pushes = key_pushes(table);
        quote! {
            #[automatically_derived]
            impl #pg::KeyedTable for #ident {
                type Key = #key_type;

                fn push_key<'a>(key: &'a Self::Key, out: &mut ::std::vec::Vec<#pg::Param<'a>>) {
                    #(#pushes)*
                }
            }

            #[automatically_derived]
            impl #pg::UpdateRow for #update {
                type Table = #ident;

                fn push_changes<'a>(
                    &'a self,
                    out: &mut ::std::vec::Vec<::core::option::Option<#pg::Param<'a>>>,
                ) {
                    #(#changes)*
                    #(#index_changes)*
                }

                #seal_changes
            }
        }
    } else {
        TokenStream::new()
    };

    quote! {
        #[automatically_derived]
        impl #pg::InsertRow for #insert {
            type Table = #ident;

            fn push_values<'a>(
                &'a self,
                out: &mut ::std::vec::Vec<::core::option::Option<#pg::Param<'a>>>,
            ) {
                #(#values)*
            }

            #seal
        }

        #[automatically_derived]
        impl #pg::FromRow for #select {
            type Table = #ident;

            fn from_row_at(
                row: &#pg::tokio_postgres::Row,
                indexes: &[usize],
            ) -> ::core::result::Result<Self, #pg::DecodeError> {
                let table = <#ident as #krate::Table>::TABLE;
                #decoded
            }

            #row_binding
        }

        #keyed
    }
}

/// [`binding`]'s locals `__tenant` and `__key` from a `key` of the table's key type.
fn bind_key(table: &Table) -> TokenStream {
    let several = table.primary_key().len() > 1;
    binding(table, |_, i| {
        if several {
            let i = syn::Index::from(i);
            quote!(&key.#i)
        } else {
            quote!(key)
        }
    })
}

/// `out.push(..)` of each column of the key, a `key` of the table's key type (a tuple for a key
/// of several columns).
fn key_pushes(table: &Table) -> Vec<TokenStream> {
    let count = table.primary_key().len();
    if count == 1 {
        vec![quote!(out.push(key);)]
    } else {
        (0..count)
            .map(|i| {
                let i = syn::Index::from(i);
                quote!(out.push(&key.#i);)
            })
            .collect()
    }
}

/// `impl schema_core::sqlx::KeyedTable`: the key's type, its values bound by sqlx, and (for a
/// table with encrypted columns) the bytes its ciphertexts are bound to.
fn sqlx_keyed(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let ident = table.ident;
    let sqlx = quote!(#krate::sqlx);
    let Some(key_type) = key_type(table) else {
        return TokenStream::new();
    };
    let pushes = key_pushes(table);
    let decoded: Vec<TokenStream> = key_columns(table)
        .into_iter()
        .map(|(at, c)| {
            let ty = c.ty;
            quote_spanned!(c.ty.span()=> #sqlx::decode::<#ty>(row, table, #at))
        })
        .collect();
    let key = match decoded.as_slice() {
        [only] => only.clone(),
        several => quote!(::core::result::Result::Ok((#(#several?),*))),
    };
    let binding = if cfg!(feature = "encrypt") && table.columns.iter().any(|c| c.is_encrypted()) {
        let bind = bind_key(table);
        quote! {
            fn key_binding(
                key: &Self::Key,
            ) -> (::std::vec::Vec<u8>, ::std::vec::Vec<u8>) {
                #bind
                (__tenant, __key)
            }
        }
    } else {
        TokenStream::new()
    };
    quote! {
        #[automatically_derived]
        impl #sqlx::KeyedTable for #ident {
            type Key = #key_type;

            fn push_key<'a>(key: &'a Self::Key, out: &mut ::std::vec::Vec<#sqlx::Param<'a>>) {
                #(#pushes)*
            }

            fn decode_key(
                row: &#krate::__private::sqlx::postgres::PgRow,
            ) -> ::core::result::Result<Self::Key, #krate::__private::sqlx::Error> {
                let table = <Self as #krate::Table>::TABLE;
                #key
            }

            #binding
        }
    }
}

/// `sqlx::FromRow` for the Select type and the insert binding, for schema-core's `sqlx` module:
/// one call per column, the work done in schema-core.
fn sqlx_impls(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let ident = table.ident;
    let (insert, select) = (&table.insert_ident, &table.select_ident);
    let sqlx = quote!(#krate::sqlx);
    let driver = quote!(#krate::__private::sqlx);

    let values = insert_values(table, &quote!(#sqlx::Param<'a>), true);
    let decoded = decode_row(
        table,
        |i, c| {
            let ty = c.ty;
            quote_spanned!(c.ty.span()=> #sqlx::decode::<#ty>(row, table, #i)?)
        },
        |i, c| {
            let ty = c.ty;
            quote_spanned!(c.ty.span()=> #sqlx::decode_encrypted::<#ty>(row, table, #i, &__tenant, &__key)?)
        },
    );
    let seal = seal_insert_into(table);
    let keyed = sqlx_keyed(table);
    // Named only where a column reads it, so that no table draws an unused-variable warning.
    let bind_nulls = if table
        .columns
        .iter()
        .any(|c| c.is_option && !c.has_default() && !c.filled_by_database())
    {
        format_ident!("bind_nulls")
    } else {
        format_ident!("_bind_nulls")
    };
    quote! {
        #[automatically_derived]
        impl #sqlx::InsertRow for #insert {
            type Table = #ident;

            fn push_values<'a>(
                &'a self,
                #bind_nulls: bool,
                out: &mut ::std::vec::Vec<::core::option::Option<#sqlx::Param<'a>>>,
            ) {
                #(#values)*
            }

            #seal
        }

        #[automatically_derived]
        impl<'r> #driver::FromRow<'r, #driver::postgres::PgRow> for #select {
            fn from_row(
                row: &'r #driver::postgres::PgRow,
            ) -> ::core::result::Result<Self, #driver::Error> {
                let table = <#ident as #krate::Table>::TABLE;
                #decoded
            }
        }

        #keyed
    }
}

/// SQL written in an attribute, as `&[SqlPart]`: `{field}` becomes its column.
fn sql_parts(table: &Table, parts: &[TemplatePart]) -> TokenStream {
    let krate = &table.krate;
    let parts = parts.iter().map(|part| match part {
        TemplatePart::Sql(sql) => quote!(#krate::SqlPart::Sql(#sql)),
        TemplatePart::Field(field) => {
            let column = &table
                .columns
                .iter()
                .find(|c| c.ident == field.as_str())
                .expect("checked")
                .name;
            quote!(#krate::SqlPart::Column(#column))
        }
        TemplatePart::Setting(setting) => quote!(#krate::SqlPart::Setting(#setting)),
    });
    quote!(&[#(#parts),*])
}

/// The column's comment: its doc comment, and what `sensitive` and `internal` mean for it, so
/// that whoever reads the database sees the rule too.
fn column_comment(c: &Column) -> Option<String> {
    let mut notes: Vec<&str> = Vec::new();
    if c.attrs.sensitive.is_some() {
        notes.push(
            "Sensitive: may hold PHI; redacted from Debug output, keep out of logs and exports.",
        );
    }
    if c.attrs.internal.is_some() {
        notes.push("Internal: never serialized nor read from deserialized input.");
    }
    match (&c.comment, notes.is_empty()) {
        (comment, true) => comment.clone(),
        (Some(comment), false) => Some(format!("{comment}\n\n{}", notes.join(" "))),
        (None, false) => Some(notes.join(" ")),
    }
}
