//! OpenAPI schemas of the inputs whose rules are spelled in code (patterns, lengths, ranges):
//! each is built from the same constants the validation uses, so the document states exactly
//! what the server enforces (`#[schema(schema_with = …)]` / `#[param(schema_with = …)]`).

use utoipa::openapi::{
    ArrayBuilder, ObjectBuilder, RefOr, Schema,
    schema::{SchemaType, Type},
};

use crate::models::{
    money::PRICE_PATTERN,
    page::{CURSOR_PATTERN, MAX_LIMIT},
    product::{
        MAX_CATEGORY, MAX_STOCK, MAX_TAG, MAX_TAGS, NOT_BLANK_PATTERN, SKU_PATTERN, TEXT_PATTERN,
        TRIMMED_PATTERN,
    },
};

/// Passwords: Cognito allows 256 characters, but the local stack's emulator refuses 99 and
/// more; the document promises what every environment's pool accepts.
pub const MAX_PASSWORD: usize = 98;

/// Cognito's password symbols (a space counts too).
pub const PASSWORD_SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

/// The OpenAPI pattern of an e-mail address as the server checks it (see `check_email`).
pub const EMAIL_PATTERN: &str = r"^[A-Za-z0-9_][A-Za-z0-9._%+-]*@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$";

/// The OpenAPI pattern of an `Idempotency-Key` as the server reads it: 1 to 255 printable ASCII
/// characters; spaces inside only (HTTP drops them at either end).
pub const IDEMPOTENCY_KEY_PATTERN: &str = r"^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$";

/// The OpenAPI pattern of a password that meets the policy (see `check_password`).
pub const PASSWORD_PATTERN: &str = concat!(
    r"^(?=[\s\S]*[a-z])(?=[\s\S]*[A-Z])(?=[\s\S]*[0-9])",
    r#"(?=[\s\S]*[-\^$*.\[\]{}()?"!@#%&/\\,><':;|_~`=+ ])"#,
    r"[^\u0000]{8,98}$"
);

fn string(nullable: bool) -> ObjectBuilder {
    if nullable {
        ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
    } else {
        ObjectBuilder::new().schema_type(Type::String)
    }
}

/// A text of at most `max` characters, not blank when `required_text`.
fn text(max: usize, not_blank: bool, nullable: bool, description: &str) -> RefOr<Schema> {
    let schema = string(nullable)
        .max_length(Some(max))
        .description(Some(description));
    if not_blank {
        schema.min_length(Some(1)).pattern(Some(NOT_BLANK_PATTERN))
    } else {
        schema.pattern(Some(TEXT_PATTERN))
    }
    .into()
}

pub fn product_name() -> RefOr<Schema> {
    text(
        200,
        true,
        false,
        "At most 200 characters, not blank; stored trimmed.",
    )
}

pub fn person_name() -> RefOr<Schema> {
    text(
        200,
        true,
        false,
        "At most 200 characters, not blank; stored trimmed.",
    )
}

pub fn description_nullable() -> RefOr<Schema> {
    text(
        5000,
        false,
        true,
        "At most 5000 characters; stored trimmed. `null` or absent: empty.",
    )
}

pub fn description() -> RefOr<Schema> {
    text(
        5000,
        false,
        false,
        "At most 5000 characters; stored trimmed.",
    )
}

pub fn address_nullable() -> RefOr<Schema> {
    text(
        1000,
        false,
        true,
        "At most 1000 characters; stored trimmed; blank or `null` means none.",
    )
}

pub fn email() -> RefOr<Schema> {
    string(false)
        .pattern(Some(EMAIL_PATTERN))
        .max_length(Some(254))
        .description(Some(
            "An e-mail address: a local part of ASCII letters, digits and `._%+-` (starting with a letter, digit or `_`), `@`, dot-separated labels of letters, digits and `-`, the last of two or more letters; at most 254 characters.",
        ))
        .examples(["ada@example.com"])
        .into()
}

pub fn password() -> RefOr<Schema> {
    string(false)
        .pattern(Some(PASSWORD_PATTERN))
        .min_length(Some(8))
        .max_length(Some(MAX_PASSWORD))
        .description(Some(
            "The pool's policy: 8 to 98 characters with a lower-case and an upper-case ASCII letter, an ASCII digit and a symbol (`^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-` or a space).",
        ))
        .examples(["Str0ng-Passw0rd!"])
        .into()
}

/// A credential or code: not blank, no NUL (anything else is the identity provider's to judge).
pub fn given() -> RefOr<Schema> {
    string(false)
        .min_length(Some(1))
        .pattern(Some(NOT_BLANK_PATTERN))
        .into()
}

/// `Idempotency-Key` (docs/api.md, Idempotency).
pub fn idempotency_key() -> RefOr<Schema> {
    string(false)
        .pattern(Some(IDEMPOTENCY_KEY_PATTERN))
        .min_length(Some(1))
        .max_length(Some(255))
        .examples(["3f1c9a4e-7b2d-4e8f-9a61-0c5d2e7b8f10"])
        .into()
}

pub fn sku() -> RefOr<Schema> {
    string(false)
        .pattern(Some(SKU_PATTERN))
        .min_length(Some(1))
        .max_length(Some(64))
        .description(Some(
            "1 to 64 ASCII letters, digits, `-`, `_` or `.`; unique among products.",
        ))
        .examples(["MUG-BLUE-01"])
        .into()
}

fn price_builder() -> ObjectBuilder {
    string(false)
        .pattern(Some(PRICE_PATTERN))
        .description(Some(
            "A decimal string, 0.01 to 99999999.99, at most two decimal places, without sign, spaces or leading zeros.",
        ))
        .examples(["12.50"])
}

pub fn price() -> RefOr<Schema> {
    price_builder().into()
}

pub fn category_nullable() -> RefOr<Schema> {
    string(true)
        .max_length(Some(MAX_CATEGORY))
        .pattern(Some(TEXT_PATTERN))
        .description(Some(
            "At most 64 characters; stored trimmed and lower-cased; blank or `null` means none.",
        ))
        .examples(["kitchen"])
        .into()
}

fn tags_builder(nullable: bool) -> ArrayBuilder {
    let tag = string(false)
        .min_length(Some(1))
        .max_length(Some(MAX_TAG))
        .pattern(Some(NOT_BLANK_PATTERN));
    let schema_type = if nullable {
        SchemaType::from_iter([Type::Array, Type::Null])
    } else {
        SchemaType::Type(Type::Array)
    };
    ArrayBuilder::new()
        .schema_type(schema_type)
        .items(tag)
        .max_items(Some(MAX_TAGS))
        .description(Some(
            "At most 20 tags of at most 32 characters, not blank; stored trimmed, lower-cased, without duplicates.",
        ))
}

pub fn tags_nullable() -> RefOr<Schema> {
    tags_builder(true).into()
}

pub fn tags() -> RefOr<Schema> {
    tags_builder(false).into()
}

pub fn stock() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(MAX_STOCK))
        .examples([100])
        .into()
}

/// `?category`: compared trimmed and lower-cased; blank means any.
pub fn category_filter() -> RefOr<Schema> {
    string(false)
        .max_length(Some(MAX_CATEGORY))
        .pattern(Some(TEXT_PATTERN))
        .description(Some(
            "Only this category (at most 64 characters; compared trimmed and lower-cased; blank means any).",
        ))
        .examples(["kitchen"])
        .into()
}

/// `?q`: 3 to 100 characters, no leading or trailing whitespace.
pub fn search_text() -> RefOr<Schema> {
    string(false)
        .min_length(Some(3))
        .max_length(Some(100))
        .pattern(Some(TRIMMED_PATTERN))
        .description(Some(
            "Case-insensitive text the name contains: 3 to 100 characters, no leading or trailing whitespace (answered from a trigram index; results in product id order).",
        ))
        .examples(["mug"])
        .into()
}

/// `?limit`: 1..=100, written as a plain decimal.
pub fn limit() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX_LIMIT))
        .description(Some("1 to 100, default 20."))
        .into()
}

/// `?cursor`: the `next_cursor` of the previous page.
pub fn cursor() -> RefOr<Schema> {
    string(false)
        .pattern(Some(CURSOR_PATTERN))
        .min_length(Some(1))
        .max_length(Some(18))
        .description(Some(
            "The `next_cursor` of the previous page (opaque: pass it back as it was given).",
        ))
        .into()
}
