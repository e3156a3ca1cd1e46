//! A string that must never be printed.

use std::fmt;

/// A secret string (consumer secret, token secret, signature) whose `Debug`
/// output is redacted and which has no `Display`.
///
/// Read it with [`Secret::expose`], on purpose, where it is really needed.
///
/// ```
/// let secret = oauth1::Secret::new("kd94hf93k423kf44");
/// assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
/// assert_eq!(secret.expose(), "kd94hf93k423kf44");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2-very-secret");
        let printed = format!("{secret:?} {secret:#?} {:?}", Some(&secret));
        assert!(!printed.contains("hunter2"), "{printed}");
    }
}
