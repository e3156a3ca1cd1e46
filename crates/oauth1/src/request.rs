//! The parts of an HTTP request that OAuth 1.0a signs.

use std::fmt;

use crate::base_string::{EncodedParams, SourceCopy};
use crate::encoding::{for_each_form_pair, is_form_content_type};
use crate::error::Error;
use crate::request_url;
use crate::request_url::RequestUrl;
use crate::sent::SentPair;

/// An HTTP request to sign or verify: method, absolute URL, and optionally a body
/// with its content type and an `Authorization` header.
///
/// Only an `application/x-www-form-urlencoded` body takes part in the signature
/// (RFC 5849 §3.4.1.3.1); any other body is ignored. The `Debug` output shows
/// neither the query nor the header, which may hold signed values.
///
/// ```
/// let request = oauth1::Request::new("POST", "https://api.example.com/upload?x=1")
///     .body("application/x-www-form-urlencoded; charset=utf-8", b"title=Hello%20world");
/// assert_eq!(format!("{request:?}"), r#"Request { method: "POST", url: "https://api.example.com/upload?…" }"#);
/// ```
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub(crate) method: &'a str,
    target: Target<'a>,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) body: &'a [u8],
    pub(crate) authorization: Option<&'a str>,
}

/// Where a request goes: a whole URL, or its parts as a server has them.
#[derive(Clone, Copy)]
enum Target<'a> {
    Url(&'a str),
    Parts {
        scheme: &'a str,
        host: &'a str,
        /// `/path?query`, origin form.
        target: &'a str,
    },
}

impl<'a> Request<'a> {
    /// A request with no body. `url` must be absolute and percent-encoded.
    pub fn new(method: &'a str, url: &'a str) -> Self {
        Request::to(method, Target::Url(url))
    }

    /// A request given as a server receives it: the scheme it was received
    /// on, the `Host` header (`host[:port]`) and the request target from the
    /// request line (`/path?query`, percent-encoded). It signs and verifies
    /// exactly as [`Request::new`] with the URL `scheme://host` + `target`,
    /// without that URL being written and parsed again.
    ///
    /// ```
    /// use oauth1::{ReceivedRequest, Request, Signer};
    /// let url = "https://api.example.com/videos?page=2";
    /// let header = Signer::new("ck", "cs").timestamp(1).nonce("n")
    ///     .sign(&Request::new("GET", url))?.authorization_header();
    /// // A server has the parts: the scheme it listens on, `Host` and the target.
    /// let received = Request::from_parts("GET", "https", "api.example.com", "/videos?page=2")
    ///     .authorization(&header);
    /// let parsed = ReceivedRequest::parse(&received)?;
    /// let from_url = ReceivedRequest::parse(&Request::new("GET", url).authorization(&header))?;
    /// assert_eq!(parsed.base_string(), from_url.base_string());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_parts(method: &'a str, scheme: &'a str, host: &'a str, target: &'a str) -> Self {
        Request::to(
            method,
            Target::Parts {
                scheme,
                host,
                target,
            },
        )
    }

    fn to(method: &'a str, target: Target<'a>) -> Self {
        Request {
            method,
            target,
            content_type: None,
            body: &[],
            authorization: None,
        }
    }

    /// Adds a body and its `Content-Type`.
    pub fn body(mut self, content_type: &'a str, body: &'a [u8]) -> Self {
        self.content_type = Some(content_type);
        self.body = body;
        self
    }

    /// Adds the received `Authorization` header value (for verification).
    pub fn authorization(mut self, header_value: &'a str) -> Self {
        self.authorization = Some(header_value);
        self
    }

    pub(crate) fn has_form_body(&self) -> bool {
        self.content_type.is_some_and(is_form_content_type)
    }

    /// The method, checked to be an RFC 9110 token.
    pub(crate) fn checked_method(&self) -> Result<&'a str, Error> {
        let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if self.method.is_empty() || !self.method.bytes().all(is_tchar) {
            return Err(Error::InvalidMethod);
        }
        Ok(self.method)
    }

    /// The URL taken apart: base string URI and query.
    pub(crate) fn url(&self) -> Result<RequestUrl<'a>, Error> {
        match self.target {
            Target::Url(url) => request_url::parse(url),
            Target::Parts {
                scheme,
                host,
                target,
            } => request_url::from_parts(scheme, host, target),
        }
    }

    /// The whole URL, written out if it was given as parts.
    pub(crate) fn whole_url(&self) -> String {
        match self.target {
            Target::Url(url) => url.to_owned(),
            Target::Parts {
                scheme,
                host,
                target,
            } => format!("{scheme}://{host}{target}"),
        }
    }

    /// The text the query is part of: the URL, or the request target.
    fn query_source(&self) -> &'a str {
        match self.target {
            Target::Url(url) => url,
            Target::Parts { target, .. } => target,
        }
    }

    /// Every query parameter (`in_query`), then every form parameter, as
    /// sent, goes to `visit` with the scratch buffer and the copy of the text
    /// it is part of: the URL and a form body are copied into `signed` once
    /// first, so a parameter sent in RFC 5849 encoding can be pushed as a span
    /// of its copy (the signer and the verifier both read a request so).
    pub(crate) fn for_each_param_copied(
        &self,
        query: Option<&'a str>,
        signed: &mut EncodedParams,
        mut visit: impl FnMut(bool, SentPair<'a>, &mut EncodedParams, &SourceCopy) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let url = signed.copy_source(self.query_source().as_bytes());
        let form = match self.has_form_body() {
            true => signed.copy_source(self.body),
            false => SourceCopy::default(),
        };
        self.for_each_param_in(query, |in_query, pair| {
            let copy = if in_query { &url } else { &form };
            visit(in_query, pair, signed, copy)
        })
    }

    /// Every query parameter (`in_query`), then every form parameter, as
    /// sent, goes to `visit`.
    pub(crate) fn for_each_param_in(
        &self,
        query: Option<&'a str>,
        mut visit: impl FnMut(bool, SentPair<'a>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if let Some(query) = query {
            for_each_form_pair(query, "query", |pair| visit(true, pair))?;
        }
        if self.has_form_body() {
            let body = std::str::from_utf8(self.body).map_err(|_| Error::InvalidFormBody)?;
            for_each_form_pair(body, "form body", |pair| visit(false, pair))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.whole_url();
        let url = match url.split_once('?') {
            Some((before, _)) => format!("{before}?…"),
            None => url,
        };
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &url)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_must_be_tokens() {
        for good in ["GET", "post", "M-SEARCH", "X_1"] {
            assert!(Request::new(good, "http://h/").checked_method().is_ok());
        }
        for bad in ["", "GE T", "GET\n", "(GET)", "Ü"] {
            assert_eq!(
                Request::new(bad, "http://h/").checked_method(),
                Err(Error::InvalidMethod)
            );
        }
    }

    #[test]
    fn only_form_bodies_are_parsed() {
        let form =
            Request::new("POST", "http://h/?q=1").body("application/x-www-form-urlencoded", b"a=1");
        let params = |request: Request<'_>| {
            let mut from = Vec::new();
            let query = request.url()?.query;
            request.for_each_param_in(query, |in_query, _| {
                from.push(in_query);
                Ok(())
            })?;
            Ok::<_, Error>(from)
        };
        assert_eq!(params(form), Ok(vec![true, false]));
        let json = Request::new("POST", "http://h/").body("application/json", b"{\"a\":1}");
        assert_eq!(params(json), Ok(vec![]));
        let binary = Request::new("POST", "http://h/")
            .body("application/x-www-form-urlencoded", &[0xFF, b'=', 0xFE]);
        assert_eq!(params(binary), Err(Error::InvalidFormBody));
    }

    #[test]
    fn debug_hides_query_and_authorization() {
        let request = Request::new("GET", "http://h/p?oauth_signature=abc")
            .authorization("OAuth oauth_signature=\"abc\"");
        let printed = format!("{request:?}");
        assert!(!printed.contains("abc"), "{printed}");
    }
}
