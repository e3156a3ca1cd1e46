//! Progress events and cancellation.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes the server has acknowledged (its `Upload-Offset`).
    pub acknowledged: u64,
    /// Bytes handed to the network, including unacknowledged ones in flight.
    pub sent: u64,
    /// The upload's length; for a stream of unknown length
    /// ([`crate::Client::upload_stream`]), the bytes read from it so far.
    pub total: u64,
    /// Average sending rate of this run, bytes per second.
    pub bytes_per_second: f64,
    /// Estimated time to completion at that rate.
    pub eta: Option<Duration>,
}

/// Something that happened during an upload.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The upload was created at a new URL.
    Created {
        /// The upload URL, without query.
        url: String,
    },
    /// An existing upload is continued from `offset`.
    Resumed {
        /// The server's offset.
        offset: u64,
    },
    /// Bytes moved.
    Progress(Progress),
    /// Bytes moved in one part of a parallel upload (positions within the
    /// part); a [`Event::Progress`] for the whole file follows each.
    PartProgress {
        /// The part's index, from 0.
        part: usize,
        /// How many parts there are.
        parts: usize,
        /// The part's own progress.
        progress: Progress,
    },
    /// A PATCH finished and the server acknowledged up to `offset`.
    ChunkComplete {
        /// The offset before the chunk.
        start: u64,
        /// The server's offset after it.
        offset: u64,
    },
    /// The server dropped the unfinished upload (it expired); a new one is
    /// created and the upload starts over from byte 0.
    Restarted {
        /// What happened, as text.
        reason: String,
    },
    /// A request failed and will be retried after `delay`.
    Retrying {
        /// Consecutive failed attempts so far.
        attempt: u32,
        /// How long the client waits.
        delay: Duration,
        /// The failure, as text (no secrets).
        reason: String,
    },
}

/// A progress callback; called on the upload's task, so keep it quick.
pub type ProgressFn = Arc<dyn Fn(&Event) + Send + Sync>;

/// Cancels an upload from elsewhere. The upload returns [`crate::Error::Cancelled`]
/// and stays resumable. Clones share the same signal.
///
/// ```
/// let token = tus::CancelToken::new();
/// let clone = token.clone();
/// clone.cancel();
/// assert!(token.is_cancelled());
/// ```
#[derive(Clone)]
pub struct CancelToken {
    sender: Arc<watch::Sender<bool>>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        CancelToken {
            sender: Arc::new(watch::channel(false).0),
        }
    }

    /// Cancels every upload holding this token.
    pub fn cancel(&self) {
        self.sender.send_replace(true);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        *self.sender.borrow()
    }

    /// Resolves once cancelled.
    pub(crate) async fn cancelled(&self) {
        let mut receiver = self.sender.subscribe();
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
