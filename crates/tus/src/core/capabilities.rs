//! What a server supports, learned from `OPTIONS` (tus 1.0 "Discovery").

use http::HeaderMap;

use crate::core::headers::{TUS_VERSION, parse_list, parse_u64};
use crate::error::ProtocolError;

/// A server's advertised capabilities.
///
/// ```
/// let caps = tus::Capabilities::default();
/// assert!(!caps.supports("creation"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// `Tus-Version`, most preferred first.
    pub versions: Vec<String>,
    /// `Tus-Extension`.
    pub extensions: Vec<String>,
    /// `Tus-Max-Size`, if advertised.
    pub max_size: Option<u64>,
    /// `Tus-Checksum-Algorithm`, if advertised.
    pub checksum_algorithms: Vec<String>,
}

impl Capabilities {
    /// Reads the discovery headers of an `OPTIONS` response.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Self, ProtocolError> {
        let list = |name: &str| {
            headers
                .get(name)
                .map(|v| parse_list(v.as_bytes()))
                .unwrap_or_default()
        };
        let versions = list("tus-version");
        if !versions.is_empty() && !versions.iter().any(|v| v == TUS_VERSION) {
            return Err(ProtocolError::UnsupportedVersion {
                offered: versions.join(","),
            });
        }
        let max_size = match headers.get("tus-max-size") {
            Some(value) => Some(parse_u64("Tus-Max-Size", value.as_bytes())?),
            None => None,
        };
        Ok(Capabilities {
            versions,
            extensions: list("tus-extension"),
            max_size,
            checksum_algorithms: list("tus-checksum-algorithm"),
        })
    }

    /// Whether the server advertises `extension` (e.g. `creation`).
    pub fn supports(&self, extension: &str) -> bool {
        self.extensions
            .iter()
            .any(|e| e.eq_ignore_ascii_case(extension))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in list {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn reads_discovery_headers() {
        let caps = Capabilities::from_headers(&headers(&[
            ("Tus-Version", "1.0.0,0.2.2"),
            ("Tus-Extension", "creation,creation-with-upload,termination"),
            ("Tus-Max-Size", "1073741824"),
            ("Tus-Checksum-Algorithm", "sha1,md5"),
        ]))
        .unwrap();
        assert!(caps.supports("creation-with-upload"));
        assert!(!caps.supports("concatenation"));
        assert_eq!(caps.max_size, Some(1 << 30));
        assert_eq!(caps.checksum_algorithms, ["sha1", "md5"]);
    }

    #[test]
    fn refuses_servers_without_1_0_0_and_bad_sizes() {
        assert!(matches!(
            Capabilities::from_headers(&headers(&[("Tus-Version", "0.2.2")])),
            Err(ProtocolError::UnsupportedVersion { .. })
        ));
        assert!(Capabilities::from_headers(&headers(&[("Tus-Max-Size", "big")])).is_err());
        assert_eq!(
            Capabilities::from_headers(&HeaderMap::new()).unwrap(),
            Capabilities::default()
        );
    }
}
