//! The checksum extension: `Upload-Checksum: <algorithm> <base64 digest>`.

use base64::Engine as _;
use sha2::Digest as _;

use crate::core::capabilities::Capabilities;

/// A checksum algorithm for the tus checksum extension.
///
/// ```
/// use tus::ChecksumAlgorithm;
/// assert_eq!(ChecksumAlgorithm::Sha1.name(), "sha1");
/// assert_eq!(ChecksumAlgorithm::from_name("SHA256"), Some(ChecksumAlgorithm::Sha256));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChecksumAlgorithm {
    /// SHA-1 (the algorithm every checksum-capable server must offer).
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// The name used in headers.
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Sha1 => "sha1",
            ChecksumAlgorithm::Sha256 => "sha256",
        }
    }

    /// Parses a header name (any case).
    pub fn from_name(name: &str) -> Option<Self> {
        [ChecksumAlgorithm::Sha1, ChecksumAlgorithm::Sha256]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// A streaming hasher.
    pub(crate) fn hasher(self) -> Hasher {
        match self {
            ChecksumAlgorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            ChecksumAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }
}

/// An incremental digest.
pub(crate) enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
        }
    }

    /// The `Upload-Checksum` header value.
    pub(crate) fn header_value(self) -> String {
        let (name, digest) = match self {
            Hasher::Sha1(h) => ("sha1", h.finalize().to_vec()),
            Hasher::Sha256(h) => ("sha256", h.finalize().to_vec()),
        };
        format!(
            "{name} {}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    }
}

/// The algorithm to use: the caller's choice if the server offers it, else the
/// strongest one the server offers that we support; `None` when the server does
/// not advertise the checksum extension (then no header is sent).
pub(crate) fn negotiate(
    preferred: ChecksumAlgorithm,
    capabilities: &Capabilities,
) -> Option<ChecksumAlgorithm> {
    if !capabilities.supports("checksum") {
        return None;
    }
    let offered: Vec<ChecksumAlgorithm> = capabilities
        .checksum_algorithms
        .iter()
        .filter_map(|name| ChecksumAlgorithm::from_name(name))
        .collect();
    if offered.contains(&preferred) {
        return Some(preferred);
    }
    [ChecksumAlgorithm::Sha256, ChecksumAlgorithm::Sha1]
        .into_iter()
        .find(|a| offered.contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(extensions: &[&str], algorithms: &[&str]) -> Capabilities {
        Capabilities {
            extensions: extensions.iter().map(|s| s.to_string()).collect(),
            checksum_algorithms: algorithms.iter().map(|s| s.to_string()).collect(),
            ..Capabilities::default()
        }
    }

    #[test]
    fn negotiation() {
        use ChecksumAlgorithm::*;
        assert_eq!(
            negotiate(Sha1, &caps(&["checksum"], &["sha1", "sha256"])),
            Some(Sha1)
        );
        assert_eq!(
            negotiate(Sha256, &caps(&["checksum"], &["sha1", "sha256"])),
            Some(Sha256)
        );
        assert_eq!(
            negotiate(Sha256, &caps(&["checksum"], &["md5", "sha1"])),
            Some(Sha1)
        );
        assert_eq!(negotiate(Sha1, &caps(&["checksum"], &["md5"])), None);
        assert_eq!(
            negotiate(Sha1, &caps(&["creation"], &["sha1"])),
            None,
            "no extension, no header"
        );
    }

    #[test]
    fn header_values_match_known_digests() {
        let mut h = ChecksumAlgorithm::Sha1.hasher();
        h.update(b"hello");
        assert_eq!(h.header_value(), "sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=");
        let mut h = ChecksumAlgorithm::Sha256.hasher();
        h.update(b"hel");
        h.update(b"lo");
        assert_eq!(
            h.header_value(),
            "sha256 LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
        );
    }
}
