//! Code generation for `#[derive(PgEnum)]`: a fieldless enum stored as text, or as a native
//! enum type with `#[pg(native)]`.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::internals::attr::{EnumAttrs, VariantAttrs};
use crate::internals::case;
use crate::internals::check::check_schema_name;
use crate::internals::ctxt::Ctxt;
use crate::internals::suggest::did_you_mean;

pub fn expand(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let attrs = EnumAttrs::parse(&cx, &input.attrs);
    let variants = variants(&cx, input, &attrs);
    let native = native_name(&cx, input, &attrs, &variants);
    let schema = native_schema(&cx, &attrs);
    if !cx.has_errors() {
        let native = native.map(|name| NativeType {
            schema: schema.as_ref().map(LitStr::value),
            name,
        });
        let output = generate(input, &attrs, Some(&variants), native.as_ref());
        return match cx.check() {
            Ok(()) => output,
            Err(errors) => errors,
        };
    }
    // A broken enum still implements its traits, so that the code using it reports nothing
    // but the errors above; the impls are never run, since the crate does not build.
    let fallback = match &input.data {
        Data::Enum(_) if input.generics.params.is_empty() => {
            let native = attrs.native.as_ref().map(|_| NativeType {
                schema: None,
                name: String::new(),
            });
            generate(input, &attrs, None, native.as_ref())
        }
        _ => TokenStream::new(),
    };
    let mut output = cx.check().expect_err("errors were reported");
    output.extend(fallback);
    output
}

/// A native enum type: the PostgreSQL schema it is in (`None`: the current one) and its name.
struct NativeType {
    schema: Option<String>,
    name: String,
}

/// The PostgreSQL schema of a native enum type (`schema = "ledger"`), checked as a table's is;
/// only a native type has one.
fn native_schema(cx: &Ctxt, attrs: &EnumAttrs) -> Option<LitStr> {
    let (key, schema) = attrs.schema.as_ref()?;
    if attrs.native.is_none() {
        cx.error_spanned_by(
            key,
            "`schema` places a native enum type in a PostgreSQL schema, and a text enum has no \
             type of its own: add `native`, or remove `schema`",
        );
        return None;
    }
    let errors = cx.error_count();
    check_schema_name(cx, schema, "type");
    if cx.error_count() > errors {
        return None;
    }
    if let Some(problem) = plain_name_problem(&schema.value()) {
        cx.error_spanned_by(
            schema,
            format!("the schema of a native enum type {problem}"),
        );
        return None;
    }
    Some(schema.clone())
}

/// Why `name` is not a plain lowercase identifier, the only names a native enum type and its
/// schema take (drivers name the type as the server prints it, unquoted), or `None`.
fn plain_name_problem(name: &str) -> Option<&'static str> {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (!plain).then_some(
        "is not a plain lowercase identifier: use lowercase ASCII letters, digits and `_`, not starting with a digit",
    )
}

/// A variant, the text it is stored as, and the text it was stored as before, if declared.
struct Variant<'a> {
    ident: &'a syn::Ident,
    text: String,
    renamed_from: Option<syn::LitStr>,
}

/// Each variant with the text it is stored as.
fn variants<'a>(cx: &Ctxt, input: &'a DeriveInput, attrs: &EnumAttrs) -> Vec<Variant<'a>> {
    let data = match &input.data {
        Data::Enum(data) => data,
        Data::Struct(data) => {
            cx.error_spanned_by(
                data.struct_token,
                "`PgEnum` is for enums stored as text; derive `PgTable` on a struct that declares a table",
            );
            return Vec::new();
        }
        Data::Union(data) => {
            cx.error_spanned_by(data.union_token, "`PgEnum` is not supported on a union");
            return Vec::new();
        }
    };
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "`PgEnum` is not supported on a generic enum",
        );
    }
    if data.variants.is_empty() {
        cx.error_spanned_by(
            &input.ident,
            "`PgEnum` needs at least one variant: a column must be able to hold a value",
        );
    }
    let rule = attrs.rename_all.as_ref().and_then(|lit| {
        let rule = lit.value();
        if case::apply(&rule, "").is_none() {
            cx.error_spanned_by(
                lit,
                format!(
                    "unknown `rename_all` rule {rule:?}{}",
                    match did_you_mean(&rule, case::RULES.iter().copied()) {
                        hint if hint.is_empty() => format!(
                            "; expected one of {}",
                            case::RULES
                                .iter()
                                .map(|r| format!("\"{r}\""))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        hint => hint,
                    }
                ),
            );
            return None;
        }
        Some(rule)
    });
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for variant in &data.variants {
        let variant_attrs = VariantAttrs::parse(cx, &variant.attrs);
        if !matches!(variant.fields, Fields::Unit) {
            cx.error_spanned_by(
                &variant.fields,
                "a `PgEnum` variant carries no data: the column stores only the variant's text",
            );
        }
        let (text, span) = match &variant_attrs.rename {
            Some(lit) => (lit.value(), lit.span()),
            None => {
                let name = variant.ident.unraw().to_string();
                let text = match &rule {
                    Some(rule) => case::apply(rule, &name).expect("rule checked above"),
                    None => name,
                };
                (text, variant.ident.span())
            }
        };
        if text.contains('\0') {
            cx.error_at(
                span,
                "the text contains a NUL character, which PostgreSQL text cannot hold",
            );
        }
        if let Some(first) = seen.insert(text.clone(), &variant.ident) {
            cx.error_at(
                span,
                format!(
                    "variants `{first}` and `{}` are both stored as {text:?}; rename one of them",
                    variant.ident
                ),
            );
        }
        out.push(Variant {
            ident: &variant.ident,
            text,
            renamed_from: variant_attrs.renamed_from,
        });
    }
    check_renames(cx, &seen, &out);
    out
}

/// The name of the native enum type (`#[pg(native)]`: the enum's name in snake_case;
/// `#[pg(native = "name")]`), checked to be a plain lowercase identifier; and each variant's
/// text checked to fit a PostgreSQL enum label (63 bytes).
fn native_name(
    cx: &Ctxt,
    input: &DeriveInput,
    attrs: &EnumAttrs,
    variants: &[Variant],
) -> Option<String> {
    let (key, lit) = attrs.native.as_ref()?;
    let (name, span) = match lit {
        Some(lit) => (lit.value(), lit.span()),
        None => {
            let ident = input.ident.unraw().to_string();
            (
                case::apply("snake_case", &ident).expect("a known rule"),
                key.span(),
            )
        }
    };
    if name.is_empty() {
        cx.error_at(
            span,
            "`native` names an empty type; give the type's name, `native = \"ticket_status\"`, or write just `native` to name it after the enum",
        );
        return None;
    }
    if let Some((schema, bare)) = name.split_once('.') {
        cx.error_at(
            span,
            format!(
                "the native type name {name:?} holds a `.`; for a type in a PostgreSQL schema write `native = {bare:?}, schema = {schema:?}`"
            ),
        );
        return None;
    }
    if let Some(problem) = plain_name_problem(&name) {
        cx.error_at(span, format!("the native type name {name:?} {problem}"));
        return None;
    }
    if name.len() > 63 {
        cx.error_at(
            span,
            format!("the native type name {name:?} is longer than PostgreSQL's 63 bytes"),
        );
        return None;
    }
    for variant in variants {
        if variant.text.len() > 63 {
            cx.error_spanned_by(
                variant.ident,
                format!(
                    "the text {:?} is longer than 63 bytes, the longest label a PostgreSQL enum type holds",
                    variant.text
                ),
            );
        }
    }
    Some(name)
}

/// A variant's former text is not empty, holds no NUL, is not the text it or another variant
/// is stored as now, and is the former text of one variant only.
fn check_renames(cx: &Ctxt, current: &HashMap<String, &syn::Ident>, variants: &[Variant]) {
    let mut former = HashMap::new();
    for Variant {
        ident: variant,
        text,
        renamed_from,
    } in variants
    {
        let Some(old) = renamed_from else { continue };
        let value = old.value();
        if value.is_empty() {
            cx.error_spanned_by(
                old,
                "`renamed_from` is empty; give the text the variant was stored as before",
            );
            continue;
        }
        if value.contains('\0') {
            cx.error_spanned_by(
                old,
                "the former text contains a NUL character, which PostgreSQL text cannot hold",
            );
            continue;
        }
        if value == *text {
            cx.error_spanned_by(
                old,
                format!(
                    "`renamed_from` gives the text `{variant}` is stored as now, {text:?}; give the text it was stored as before, or remove `renamed_from`"
                ),
            );
            continue;
        }
        if let Some(holder) = current.get(&value) {
            cx.error_spanned_by(
                old,
                format!(
                    "`{holder}` is stored as {value:?} now; a variant cannot be renamed from the text another variant still has: give the text `{variant}` was stored as before"
                ),
            );
        }
        if let Some(first) = former.insert(value.clone(), variant) {
            cx.error_spanned_by(
                old,
                format!(
                    "variants `{first}` and `{variant}` are both renamed from {value:?}; one of them was stored as it, remove the other `renamed_from`"
                ),
            );
        }
    }
}

/// The impls of a `PgEnum`: of its `variants`, or, for an enum with errors (`None`), impls
/// whose methods are never run.
fn generate(
    input: &DeriveInput,
    attrs: &EnumAttrs,
    variants: Option<&[Variant]>,
    native: Option<&NativeType>,
) -> TokenStream {
    let krate = attrs
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::schema_core));
    let ident = &input.ident;
    let unit = variants.unwrap_or_default();
    let idents: Vec<_> = unit.iter().map(|v| v.ident).collect();
    let texts: Vec<_> = unit.iter().map(|v| &v.text).collect();
    let renamed = unit.iter().filter_map(|v| {
        let (old, new) = (v.renamed_from.as_ref()?.value(), &v.text);
        Some(quote!((#old, #new)))
    });
    let (as_str, from_text) = if variants.is_some() {
        (
            quote! {
                match self {
                    #(Self::#idents => #texts,)*
                }
            },
            quote! {
                match text {
                    #(#texts => ::core::option::Option::Some(Self::#idents),)*
                    _ => ::core::option::Option::None,
                }
            },
        )
    } else {
        let unreachable = quote!(::core::unreachable!("this enum does not compile"));
        (unreachable.clone(), quote!({ let _ = text; #unreachable }))
    };
    let serde = if cfg!(feature = "serde") {
        serde_impls(&krate, ident)
    } else {
        TokenStream::new()
    };
    let postgres = if cfg!(feature = "postgres") {
        // tokio-postgres's `ToSql` needs `Debug`, which a broken enum may not have yet: its
        // impls then hold only where it does (a bound rustc checks at use, not here), so the
        // enum's own errors come first.
        let bound = match variants {
            Some(_) => TokenStream::new(),
            None => quote!(where for<'__debug> #ident: ::core::fmt::Debug),
        };
        postgres_impls(&krate, ident, &bound)
    } else {
        TokenStream::new()
    };
    let sqlx = if cfg!(feature = "sqlx") {
        sqlx_impls(&krate, ident)
    } else {
        TokenStream::new()
    };
    let (sql_type, native_type, text_column) = match native {
        Some(NativeType { schema, name }) => {
            let name = match schema {
                Some(schema) => quote!(#krate::__private::qualified_name!(#schema, #name)),
                None => quote!(#name),
            };
            (
                quote!(#krate::SqlType::Enum(#name)),
                quote!(::core::option::Option::Some(#name)),
                TokenStream::new(),
            )
        }
        None => (
            quote!(#krate::SqlType::Text),
            quote!(::core::option::Option::None),
            quote! {
                #[automatically_derived]
                impl #krate::TextColumn for #ident {}
            },
        ),
    };
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #krate::PgEnum for #ident {
                const VALUES: &'static [&'static str] = &[#(#texts),*];
                const NATIVE_TYPE: ::core::option::Option<&'static str> = #native_type;

                fn as_str(&self) -> &'static str {
                    #as_str
                }

                fn from_text(text: &str) -> ::core::option::Option<Self> {
                    #from_text
                }
            }

            #[automatically_derived]
            impl #krate::PgType for #ident {
                const SQL_TYPE: #krate::SqlType = #sql_type;
                const ALLOWED_VALUES: ::core::option::Option<&'static [&'static str]> =
                    ::core::option::Option::Some(<Self as #krate::PgEnum>::VALUES);
                const RENAMED_VALUES: &'static [(&'static str, &'static str)] =
                    &[#(#renamed),*];
                type Base = Self;
            }

            #text_column

            #[automatically_derived]
            impl #krate::ArrayElement for #ident {}

            #[automatically_derived]
            impl #krate::ToSqlLiteral for #ident {
                fn to_sql_literal(&self) -> #krate::SqlLiteral {
                    #krate::SqlLiteral::Text(::core::convert::Into::into(
                        <Self as #krate::PgEnum>::as_str(self),
                    ))
                }
            }

            #serde
            #postgres
            #sqlx
        };
    }
}

/// Serialize and Deserialize as the stored text, so an API speaks the same values as the
/// database; unknown text is refused with the list of expected values. The work is done in
/// schema-core (`__private::serde_rows`).
fn serde_impls(krate: &syn::Path, ident: &syn::Ident) -> TokenStream {
    let r = quote!(#krate::__private::serde_rows);
    quote! {
        #[automatically_derived]
        impl #r::Serialize for #ident {
            fn serialize<__S: #r::Serializer>(
                &self,
                __serializer: __S,
            ) -> ::core::result::Result<__S::Ok, __S::Error> {
                #r::serialize_text(self, __serializer)
            }
        }

        #[automatically_derived]
        impl<'de> #r::Deserialize<'de> for #ident {
            fn deserialize<__D: #r::Deserializer<'de>>(
                __deserializer: __D,
            ) -> ::core::result::Result<Self, __D::Error> {
                #r::deserialize_text(__deserializer)
            }
        }
    }
}

/// `ToSql` and `FromSql` as the stored text, under `bound` (a `where` clause, or nothing).
fn postgres_impls(krate: &syn::Path, ident: &syn::Ident, bound: &TokenStream) -> TokenStream {
    let types = quote!(#krate::pg::tokio_postgres::types);
    let result = quote! {
        ::core::result::Result<
            #types::IsNull,
            ::std::boxed::Box<dyn ::std::error::Error + ::core::marker::Sync + ::core::marker::Send>,
        >
    };
    quote! {
        #[automatically_derived]
        impl #types::ToSql for #ident #bound {
            fn to_sql(
                &self,
                ty: &#types::Type,
                out: &mut #krate::__private::bytes::BytesMut,
            ) -> #result {
                #krate::pg::enum_to_sql(self, ty, out)
            }

            fn accepts(ty: &#types::Type) -> bool {
                #krate::pg::enum_accepts_type::<Self>(ty)
            }

            fn to_sql_checked(
                &self,
                ty: &#types::Type,
                out: &mut #krate::__private::bytes::BytesMut,
            ) -> #result {
                #krate::pg::enum_to_sql_checked(self, ty, out)
            }
        }

        #[automatically_derived]
        impl<'a> #types::FromSql<'a> for #ident #bound {
            fn from_sql(
                ty: &#types::Type,
                raw: &'a [u8],
            ) -> ::core::result::Result<
                Self,
                ::std::boxed::Box<dyn ::std::error::Error + ::core::marker::Sync + ::core::marker::Send>,
            > {
                #krate::pg::enum_from_sql(ty, raw)
            }

            fn accepts(ty: &#types::Type) -> bool {
                #krate::pg::enum_accepts_type::<Self>(ty)
            }
        }
    }
}

/// sqlx's `Type` (as `text`), `PgHasArrayType`, `Encode` and `Decode` as the stored text, for
/// schema-core's `sqlx` module; the work is done in schema-core.
fn sqlx_impls(krate: &syn::Path, ident: &syn::Ident) -> TokenStream {
    let sqlx = quote!(#krate::__private::sqlx);
    let (pg, error) = (quote!(#sqlx::postgres), quote!(#sqlx::error::BoxDynError));
    quote! {
        #[automatically_derived]
        impl #sqlx::Type<#sqlx::Postgres> for #ident {
            fn type_info() -> #pg::PgTypeInfo {
                #krate::sqlx::enum_type_info_of::<Self>()
            }

            fn compatible(ty: &#pg::PgTypeInfo) -> bool {
                #krate::sqlx::enum_compatible_with::<Self>(ty)
            }
        }

        #[automatically_derived]
        impl #pg::PgHasArrayType for #ident {
            fn array_type_info() -> #pg::PgTypeInfo {
                #krate::sqlx::enum_array_type_info_of::<Self>()
            }

            fn array_compatible(ty: &#pg::PgTypeInfo) -> bool {
                #krate::sqlx::enum_array_compatible_with::<Self>(ty)
            }
        }

        #[automatically_derived]
        impl<'q> #sqlx::Encode<'q, #sqlx::Postgres> for #ident {
            fn encode_by_ref(
                &self,
                buffer: &mut #pg::PgArgumentBuffer,
            ) -> ::core::result::Result<#sqlx::encode::IsNull, #error> {
                #krate::sqlx::enum_encode(self, buffer)
            }
        }

        #[automatically_derived]
        impl<'r> #sqlx::Decode<'r, #sqlx::Postgres> for #ident {
            fn decode(value: #pg::PgValueRef<'r>) -> ::core::result::Result<Self, #error> {
                #krate::sqlx::enum_decode(value)
            }
        }
    }
}
