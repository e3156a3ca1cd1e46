//! The sans-IO tus core: header parsing, capabilities, metadata, the retry
//! policy and budget, and the upload state machine ([`machine`]). Nothing here
//! touches a socket, a file or the clock; the drivers feed it answers and `now`.

pub(crate) mod budget;
pub(crate) mod capabilities;
pub(crate) mod checksum;
pub(crate) mod headers;
pub(crate) mod machine;
#[cfg(test)]
mod machine_tests;
pub(crate) mod metadata;
pub(crate) mod offsets;
pub(crate) mod proxy;
pub(crate) mod retry;
#[cfg(test)]
mod sim;
