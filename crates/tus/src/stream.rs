//! Uploads of unknown length (tus creation-defer-length): stdin, a pipe, a
//! socket. A stream cannot be rewound, so the current chunk is kept in memory
//! until the server acknowledges it, to be able to re-send it: memory is
//! bounded by the chunk size, which may not exceed [`MAX_STREAM_CHUNK_SIZE`]
//! (8–32 MiB is typical). Resuming after the process dies is not possible for
//! such a source.

use tokio::io::AsyncRead;
use tracing::Instrument as _;

use crate::Client;
use crate::client::parse_uri;
use crate::core::machine::Start;
use crate::drive::{Payload, StreamBuffer};
use crate::error::{Error, redact_url};
use crate::options::{MAX_STREAM_CHUNK_SIZE, UploadOptions};
use crate::upload::UploadOutcome;

impl Client {
    /// Uploads everything `reader` yields until end of stream, for sources whose
    /// length is unknown up front. Needs a server offering creation and
    /// creation-defer-length ([`Error::Unsupported`] otherwise). The length is
    /// sent with the last chunk; a final HEAD verifies it.
    ///
    /// Retries work as for files within the current chunk, which is held in
    /// memory: memory use is bounded by the chunk size.
    pub async fn upload_stream(
        &self,
        endpoint: &str,
        reader: impl AsyncRead + Send + Unpin,
        options: &UploadOptions,
    ) -> Result<UploadOutcome, Error> {
        let endpoint = parse_uri(endpoint)?;
        let span = tracing::info_span!("tus_upload_stream", endpoint = %redact_url(&endpoint));
        async {
            let chunk_size = options.checked_chunk_size(MAX_STREAM_CHUNK_SIZE)?;
            let creation = options.creation_headers()?;
            let trusted = options.origins(&endpoint)?;
            let capabilities = self.options(&endpoint.to_string()).await?;
            if !capabilities.supports("creation-defer-length") {
                return Err(Error::Unsupported {
                    extension: "creation-defer-length",
                });
            }
            let mut config = self.config(
                Some(endpoint.clone()),
                Start::Create,
                None,
                chunk_size,
                &capabilities,
                options,
                false,
                trusted,
            );
            config.creation_with_upload = false;
            let mut buffer = StreamBuffer::new(Box::new(reader));
            let payload = Payload::Stream(&mut buffer);
            self.drive(config, options, None, creation, payload).await
        }
        .instrument(span)
        .await
    }
}
