//! Reading and writing attributes of DynamoDB items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{Item, StoreError};

/// A string attribute value.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A boolean attribute value.
pub fn b(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

/// A string attribute, if present.
pub fn opt_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// A required string attribute.
pub fn req_s(item: &Item, name: &str) -> Result<String, StoreError> {
    opt_s(item, name)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Corrupt(format!("attribute {name} is missing")))
}

/// A number attribute, if present and readable.
pub fn opt_n<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// A boolean attribute (absent is false).
pub fn flag(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

/// Builds an item from pairs, leaving out `None` values.
pub fn build(pairs: Vec<(&str, Option<AttributeValue>)>) -> Item {
    pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect::<HashMap<_, _>>()
}
