//! The sans-IO tus core: header parsing, capabilities, metadata, the retry
//! policy and the upload state machine. Nothing here touches a socket, a file or
//! the clock; the driver in [`crate::client`] feeds it responses and `now`.

pub(crate) mod capabilities;
pub(crate) mod checksum;
pub(crate) mod headers;
pub(crate) mod metadata;
pub(crate) mod offsets;
pub(crate) mod retry;
