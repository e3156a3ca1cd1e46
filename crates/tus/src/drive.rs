//! The one async driver under every upload: it performs what the state machine
//! ([`crate::core::machine`]) decides — requests, store writes, source checks,
//! stream reads, waits — and feeds back what happened. No upload decision is
//! made here.

use std::time::{Instant, SystemTime};

use http::header::HeaderValue;
use http::{HeaderMap, Method};
use tracing::Instrument as _;

use crate::client::{Answer, Client, Failure, parse_uri};
use crate::core::machine::{Action, Input, Machine};
use crate::creator::Creator;
use crate::error::Error;
use crate::options::UploadOptions;
use crate::progress::{CancelToken, Event, Progress};
use crate::source::Source;
use crate::stream::StreamBuffer;
use crate::transfer::Request;
use crate::upload::{UploadOutcome, Verification};

/// How new uploads are made.
pub(crate) enum Creation<'a> {
    /// `POST` to the endpoint with these extra headers (metadata, concatenation).
    Post(HeaderMap),
    /// Ask the caller's creator.
    Via(&'a dyn Creator),
}

/// Where PATCH bodies come from.
pub(crate) enum Payload<'a, 'r> {
    /// A file or seekable reader: any range can be read again.
    Source(&'a Source),
    /// A forward-only stream: only the current chunk is kept.
    Stream(&'a mut StreamBuffer<'r>),
}

impl Client {
    /// Runs one upload's state machine to its end with the one driver.
    pub(crate) async fn drive(
        &self,
        config: crate::core::machine::Config,
        options: &UploadOptions,
        key: Option<&str>,
        creation: Creation<'_>,
        payload: Payload<'_, '_>,
    ) -> Result<UploadOutcome, Error> {
        let machine = Machine::new(config, self.inner.retry.clone());
        let driver = Driver {
            client: self,
            options,
            key,
            creation,
        };
        driver.run(machine, payload).await
    }
}

/// Per-request context every action shares.
pub(crate) struct Driver<'a> {
    pub(crate) client: &'a Client,
    pub(crate) options: &'a UploadOptions,
    /// The store key of this upload (its fingerprint, or a part's key).
    pub(crate) key: Option<&'a str>,
    /// How new uploads are made.
    pub(crate) creation: Creation<'a>,
}

impl Driver<'_> {
    /// Runs `machine` to its end.
    pub(crate) async fn run(
        &self,
        mut machine: Machine,
        mut bytes: Payload<'_, '_>,
    ) -> Result<UploadOutcome, Error> {
        let started = Instant::now();
        let mut sent = 0u64;
        tracing::debug!(request_bound = machine.request_bound(), "upload starts");
        loop {
            let action = machine.poll(Instant::now());
            let input = match action {
                Action::Done(finished) => {
                    return Ok(UploadOutcome {
                        url: finished.url.to_string(),
                        verification: Verification::Complete {
                            length: finished.length,
                        },
                        resumed_from: finished.resumed_from,
                        bytes_sent: sent,
                        retries: finished.retries,
                    });
                }
                Action::Failed(error) => return Err(error),
                Action::Wait { until } => {
                    sleep_until(until, self.options.cancel.as_ref()).await?;
                    continue;
                }
                Action::ProbeStore => local(self.store(|s, _| s.probe()).await),
                Action::StorePut { url } => {
                    let url = url.to_string();
                    local(self.store(|s, key| s.put(key, &url)).await)
                }
                Action::StoreRemove => {
                    if let Err(error) = self.store(|s, key| s.remove(key)).await {
                        tracing::warn!(%error, "could not forget the upload URL");
                    }
                    Input::Ok
                }
                Action::CheckSource => match &bytes {
                    Payload::Source(source) => local(source.check_unchanged().await),
                    Payload::Stream(_) => Input::Ok,
                },
                Action::ReadChunk { max } => match &mut bytes {
                    Payload::Stream(stream) => match stream.read_chunk(max).await {
                        Ok((len, eof)) => Input::Chunk { len, eof },
                        Err(error) => failed(error),
                    },
                    Payload::Source(_) => unreachable!("files are never read ahead"),
                },
                Action::Head { url, credentials } => answered(self.head(&url, credentials).await),
                Action::Create {
                    url,
                    body,
                    deferred,
                    length,
                    credentials,
                } => {
                    let mut headers = self.headers(credentials);
                    if let Creation::Post(extra) = &self.creation {
                        headers.extend(extra.clone());
                    }
                    match length {
                        Some(length) if !deferred => {
                            headers.insert("upload-length", HeaderValue::from(length));
                        }
                        _ => {
                            headers.insert("upload-defer-length", HeaderValue::from_static("1"));
                        }
                    }
                    let request = Request {
                        method: Method::POST,
                        url: &url,
                        headers,
                        offset: 0,
                        len: body,
                        checksum: None,
                        credentials,
                    };
                    let (result, n) = self.send(request, &mut bytes, started, sent).await;
                    sent += n;
                    answered(result)
                }
                Action::CreateElsewhere { length, gone } => {
                    let Creation::Via(creator) = &self.creation else {
                        unreachable!("external creation without a creator")
                    };
                    let gone = gone.map(|url| url.to_string());
                    let created = creator.create(length, gone.as_deref());
                    let created = match self.options.cancel.as_ref() {
                        Some(cancel) => tokio::select! {
                            created = created => created,
                            () = cancel.cancelled() => return Err(Error::Cancelled),
                        },
                        None => created.await,
                    };
                    match created.map_err(|source| Error::Creator { source }) {
                        Ok(url) => match parse_uri(&url) {
                            Ok(url) => Input::Created { url },
                            Err(error) => failed(error),
                        },
                        Err(error) => failed(error),
                    }
                }
                Action::Patch {
                    url,
                    offset,
                    len,
                    declare_length,
                    checksum,
                    credentials,
                } => {
                    let mut headers = self.headers(credentials);
                    headers.insert("upload-offset", HeaderValue::from(offset));
                    if let Some(length) = declare_length {
                        headers.insert("upload-length", HeaderValue::from(length));
                    }
                    let span = tracing::debug_span!("tus_patch", offset, len);
                    let request = Request {
                        method: Method::PATCH,
                        url: &url,
                        headers,
                        offset,
                        len,
                        checksum,
                        credentials,
                    };
                    let (result, n) = self
                        .send(request, &mut bytes, started, sent)
                        .instrument(span)
                        .await;
                    sent += n;
                    answered(result)
                }
            };
            machine.handle(Instant::now(), input);
            while let Some(event) = machine.poll_event() {
                if let (Event::ChunkComplete { offset, .. }, Payload::Stream(_)) = (&event, &bytes)
                {
                    // A stream's bytes go out in one frame: report them per chunk.
                    let rate = sent as f64 / started.elapsed().as_secs_f64().max(1e-6);
                    self.options.emit(Event::Progress(Progress {
                        acknowledged: *offset,
                        sent: *offset,
                        total: *offset,
                        bytes_per_second: rate,
                        eta: None,
                    }));
                }
                if let Event::Retrying {
                    attempt,
                    delay,
                    reason,
                } = &event
                {
                    tracing::warn!(attempt, ?delay, error = %reason, "retrying");
                }
                self.options.emit(event);
            }
        }
    }

    /// The caller's headers, only for a trusted origin.
    fn headers(&self, credentials: bool) -> HeaderMap {
        if credentials {
            self.options.headers.clone()
        } else {
            HeaderMap::new()
        }
    }

    async fn store<'s, F>(&'s self, op: F) -> Result<(), Error>
    where
        F: FnOnce(
            &'s dyn crate::store::UrlStore,
            &'s str,
        ) -> crate::store::BoxFuture<'s, Result<(), Error>>,
    {
        match (&self.options.store, self.key) {
            (Some(store), Some(key)) => op(store.as_ref(), key).await,
            _ => Ok(()),
        }
    }
}

async fn sleep_until(until: Instant, cancel: Option<&CancelToken>) -> Result<(), Error> {
    let until = tokio::time::Instant::from_std(until);
    match cancel {
        Some(cancel) => tokio::select! {
            () = tokio::time::sleep_until(until) => Ok(()),
            () = cancel.cancelled() => Err(Error::Cancelled),
        },
        None => {
            tokio::time::sleep_until(until).await;
            Ok(())
        }
    }
}

fn local(result: Result<(), Error>) -> Input {
    match result {
        Ok(()) => Input::Ok,
        Err(error) => failed(error),
    }
}

fn failed(error: Error) -> Input {
    Input::Failed {
        error,
        retry_after: None,
    }
}

fn answered(result: Result<Answer, Failure>) -> Input {
    match result {
        Ok(answer) => Input::Answer {
            status: answer.status.as_u16(),
            headers: answer.headers,
            wall: SystemTime::now(),
        },
        Err(failure) => Input::Failed {
            error: failure.error,
            retry_after: failure.retry_after,
        },
    }
}
