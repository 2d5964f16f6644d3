//! Configuration read once from the environment at start, with clear errors for what is missing.

use std::str::FromStr;

/// A setting is missing or unreadable: the function refuses to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set (or empty).
    #[error("the environment variable {0} is required")]
    Missing(&'static str),
    /// A variable is set to something unreadable.
    #[error("the environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// A required variable.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or(ConfigError::Missing(name))
}

/// An optional variable; empty counts as unset.
pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// An optional variable parsed into `T`, or `default` when unset.
pub fn parsed<T: FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match optional(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        }),
    }
}

/// An optional URL: must start with `http://` or `https://`; a trailing `/` is dropped.
pub fn url(name: &'static str) -> Result<Option<String>, ConfigError> {
    match optional(name) {
        None => Ok(None),
        Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
            Ok(Some(v.trim_end_matches('/').to_owned()))
        }
        Some(_) => Err(ConfigError::Invalid {
            name,
            reason: "must be an http:// or https:// URL".into(),
        }),
    }
}

/// The name of the channel's DynamoDB table (`TABLE_NAME`).
pub fn table_name() -> Result<String, ConfigError> {
    required("TABLE_NAME")
}

/// The TeleSign base URL that replaces every account's host (`TELESIGN_BASE_URL`), if set.
pub fn telesign_base_url() -> Result<Option<String>, ConfigError> {
    url("TELESIGN_BASE_URL")
}
