//! Async request hooks for the requests of an upload: `before_request` may
//! change a request's headers or the URL's query (a short-lived token from
//! the app's backend); `after_response` sees every answer and may ask for the
//! request to be sent again once (after refreshing credentials on a 401/403
//! from a signed-URL or token-protected server). Both are bounded by the
//! client's stall timeout and end with the upload's cancellation.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method, Uri};

use crate::client::{Answer, Failure, head_headers};
use crate::drive::Driver;
use crate::error::{BoxError, Error, redact_url};
use crate::progress::CancelToken;
use crate::store::BoxFuture;

/// A request about to be sent, as a [`crate::UploadOptions::before_request`]
/// hook sees it; the hook returns it, changed as it likes (headers and the
/// URL's query; a URL on another origin is refused).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OutgoingRequest {
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: Uri,
    /// The headers (without the body's own).
    pub headers: HeaderMap,
}

/// An answer, as a [`crate::UploadOptions::after_response`] hook sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReceivedAnswer {
    /// The request's method.
    pub method: Method,
    /// The request's URL.
    pub url: Uri,
    /// The status.
    pub status: u16,
    /// The answer's headers.
    pub headers: HeaderMap,
}

/// What an after-response hook wants done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterResponse {
    /// Go on with the answer as it is.
    Continue,
    /// Send the same request again, once (the hook refreshed credentials).
    /// Honoured for error answers only.
    RetryOnce,
}

/// A before-request hook.
pub type BeforeRequestFn = Arc<
    dyn Fn(OutgoingRequest) -> BoxFuture<'static, Result<OutgoingRequest, BoxError>> + Send + Sync,
>;

/// An after-response hook.
pub type AfterResponseFn =
    Arc<dyn Fn(ReceivedAnswer) -> BoxFuture<'static, AfterResponse> + Send + Sync>;

/// Runs `hook` on the request, within `limit` and until `cancel`.
pub(crate) async fn before(
    hook: &BeforeRequestFn,
    request: OutgoingRequest,
    limit: Duration,
    cancel: Option<&CancelToken>,
) -> Result<OutgoingRequest, Error> {
    let original = request.url.clone();
    let changed = bounded(hook(request), limit, cancel)
        .await?
        .map_err(|source| Error::Hook { source })?;
    let same_origin = changed.url.scheme() == original.scheme()
        && changed.url.authority() == original.authority()
        && changed.url.path() == original.path();
    if !same_origin {
        return Err(Error::Hook {
            source: format!(
                "a before_request hook may change only the query of {}",
                redact_url(&original)
            )
            .into(),
        });
    }
    Ok(changed)
}

/// Runs `hook` on the answer, within `limit` and until `cancel`.
pub(crate) async fn after(
    hook: &AfterResponseFn,
    answer: ReceivedAnswer,
    limit: Duration,
    cancel: Option<&CancelToken>,
) -> Result<AfterResponse, Error> {
    bounded(hook(answer), limit, cancel).await
}

async fn bounded<T>(
    future: BoxFuture<'static, T>,
    limit: Duration,
    cancel: Option<&CancelToken>,
) -> Result<T, Error> {
    let timed = tokio::time::timeout(limit, future);
    let result = match cancel {
        Some(cancel) => tokio::select! {
            result = timed => result,
            () = cancel.cancelled() => return Err(Error::Cancelled),
        },
        None => timed.await,
    };
    result.map_err(|_| Error::Hook {
        source: format!("a request hook took longer than the stall timeout ({limit:?})").into(),
    })
}

/// The driver's side: every request of an upload goes through these.
impl Driver<'_> {
    /// `HEAD url`, through the request hooks.
    pub(crate) async fn head(&self, url: &Uri, credentials: bool) -> Result<Answer, Failure> {
        let mut retried = false;
        loop {
            let (url, headers) = self.before_hook(&Method::HEAD, url, head_headers()).await?;
            let answer = self
                .client
                .send_head(&url, headers, self.options.cancel.as_ref(), credentials)
                .await?;
            if self
                .after_hook(&Method::HEAD, &url, &answer, &mut retried)
                .await?
            {
                continue;
            }
            if !answer.status.is_success() {
                return Err(self
                    .client
                    .status_failure(&Method::HEAD, &url, answer)
                    .await);
            }
            return Ok(answer);
        }
    }

    /// The before-request hook's version of the request (as is without one).
    pub(crate) async fn before_hook(
        &self,
        method: &Method,
        url: &Uri,
        headers: HeaderMap,
    ) -> Result<(Uri, HeaderMap), Error> {
        let Some(hook) = &self.options.before_request else {
            return Ok((url.clone(), headers));
        };
        let request = OutgoingRequest {
            method: method.clone(),
            url: url.clone(),
            headers,
        };
        let changed = before(
            hook,
            request,
            self.client.inner.stall_timeout,
            self.options.cancel.as_ref(),
        )
        .await?;
        Ok((changed.url, changed.headers))
    }

    /// Whether the after-response hook asks for this error answer to be sent
    /// again (once per request).
    pub(crate) async fn after_hook(
        &self,
        method: &Method,
        url: &Uri,
        answer: &Answer,
        retried: &mut bool,
    ) -> Result<bool, Error> {
        let Some(hook) = &self.options.after_response else {
            return Ok(false);
        };
        let seen = ReceivedAnswer {
            method: method.clone(),
            url: url.clone(),
            status: answer.status.as_u16(),
            headers: answer.headers.clone(),
        };
        let decision = after(
            hook,
            seen,
            self.client.inner.stall_timeout,
            self.options.cancel.as_ref(),
        )
        .await?;
        let again =
            decision == AfterResponse::RetryOnce && !answer.status.is_success() && !*retried;
        *retried |= again;
        Ok(again)
    }
}
