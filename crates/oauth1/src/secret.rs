//! Strings that must never be printed: one definition, [`secret_type!`], for
//! every such type in the workspace (this crate's [`Secret`], the `vimeo`
//! crate's `AccessToken`), as oauth2-rs does with `new_secret_type!`.

/// Defines a newtype over `String` for a secret: `Debug` prints only the
/// type's name and `<redacted>`, there is no `Display`, and the value is read
/// with `expose()`, on purpose, where it is really needed. Equality takes
/// time that depends only on the lengths (the signature check's comparison),
/// so comparing a secret does not tell how much of it matched.
///
/// Not part of this crate's API (hidden from its docs): it lets the crates of
/// this workspace define their secrets alike.
#[doc(hidden)]
#[macro_export]
macro_rules! secret_type {
    ($(#[$attr:meta])* $vis:vis struct $name:ident;) => {
        $(#[$attr])*
        #[derive(Clone)]
        $vis struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The secret value itself.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                $crate::__constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl Eq for $name {}

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name::new(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }
    };
}

secret_type! {
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
    #[derive(Default)]
    pub struct Secret;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2-very-secret");
        let printed = format!("{secret:?} {secret:#?} {:?}", Some(&secret));
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.starts_with("Secret(<redacted>)"), "{printed}");
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(Secret::new("abc"), Secret::from("abc".to_owned()));
        assert_ne!(Secret::new("abc"), Secret::new("abd"));
        assert_ne!(Secret::new("abc"), Secret::new("abcd"));
        assert_ne!(Secret::new(""), Secret::new("a"));
        assert_eq!(Secret::default(), Secret::new(""));
    }
}
