//! OAuth 2 for API v3: access tokens, the authorization-code flow, client
//! credentials, and the exchange of a legacy OAuth 1.0a token.

use std::fmt;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::Full;
use serde::Deserialize;
use tracing::Instrument as _;

use crate::answer::api_error;
use crate::client::VimeoClient;
use crate::error::Error;
use crate::models::User;
use crate::rate_limit::RateLimit;
use crate::request::{ACCEPT_VERSION, form_encode};

oauth1::secret_type! {
    /// A bearer token. `Debug` never shows it and there is no `Display`;
    /// [`AccessToken::expose`] does, for the one place that sends it.
    ///
    /// ```
    /// let token = vimeo::AccessToken::new("abc123");
    /// assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
    /// assert_eq!(token.expose(), "abc123");
    /// ```
    pub struct AccessToken;
}

/// A registered app's OAuth 2 credentials.
#[derive(Clone)]
pub struct AppCredentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: oauth1::Secret,
}

impl AppCredentials {
    /// The app's client id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        AppCredentials {
            client_id: client_id.into(),
            client_secret: oauth1::Secret::new(client_secret),
        }
    }
}

impl fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What a token endpoint granted. The client that asked already uses the token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenGrant {
    /// The token.
    pub access_token: AccessToken,
    /// `bearer`.
    pub token_type: Option<String>,
    /// The granted scopes, space-separated.
    pub scope: Option<String>,
    /// The user, for user tokens (client-credentials tokens have none).
    pub user: Option<User>,
}

#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    user: Option<User>,
}

impl From<TokenAnswer> for TokenGrant {
    fn from(answer: TokenAnswer) -> Self {
        TokenGrant {
            access_token: AccessToken(answer.access_token),
            token_type: answer.token_type,
            scope: answer.scope,
            user: answer.user,
        }
    }
}

/// The first step of the authorization-code flow: the URL to send the user to,
/// and the `state` that must come back with the code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// Where to send the user's browser.
    pub url: String,
    /// The random `state` in the URL (CSRF protection).
    pub state: String,
    /// The redirect URI, needed again for the exchange.
    pub redirect_uri: String,
}

impl AuthorizationRequest {
    /// Checks the `state` that came back to the redirect URI.
    ///
    /// ```
    /// # let client = vimeo::VimeoClient::builder().app("id", "secret").build()?;
    /// let request = client.authorization_request("https://app.example/cb", &["public", "upload"])?;
    /// assert!(request.check_state(&request.state).is_ok());
    /// assert!(request.check_state("forged").is_err());
    /// # Ok::<(), vimeo::Error>(())
    /// ```
    pub fn check_state(&self, returned: &str) -> Result<(), Error> {
        let (a, b) = (self.state.as_bytes(), returned.as_bytes());
        let same =
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same {
            Ok(())
        } else {
            Err(Error::StateMismatch)
        }
    }
}

/// 16 random bytes as hex, for `state`.
pub(crate) fn random_state() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::InvalidInput(format!("no OS randomness for the OAuth state: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl VimeoClient {
    /// Calls a token endpoint with the app's Basic credentials and a form body,
    /// and uses the token granted.
    async fn token_call(&self, path: &str, form: &[(&str, &str)]) -> Result<TokenGrant, Error> {
        let app = self.inner.app.as_ref().ok_or(Error::MissingCredentials(
            "the app's client id and secret (ClientBuilder::app)",
        ))?;
        let uri = self.resolve(path, &[])?;
        self.check_plain_http("the app's client secret")?;
        let span = tracing::info_span!("vimeo_token", path = %uri.path());
        async {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                app.client_id,
                app.client_secret.expose()
            ));
            let mut authorization =
                HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
                    Error::InvalidInput("the client id or secret cannot go in a header".into())
                })?;
            authorization.set_sensitive(true);
            let request = Request::builder()
                .method(Method::POST)
                .uri(uri.clone())
                .header("accept", ACCEPT_VERSION)
                .header("user-agent", self.inner.user_agent.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", authorization)
                .body(Full::new(Bytes::from(form_encode(form))))
                .map_err(|e| Error::InvalidInput(format!("cannot build the request: {e}")))?;
            let response = self.inner.http.send(request).await?;
            let rate_limit = RateLimit::from_headers(&response.headers);
            if !(200..300).contains(&response.status) {
                let secrets = [app.client_secret.expose()];
                return Err(api_error(
                    &Method::POST,
                    uri.path(),
                    response,
                    rate_limit,
                    &secrets,
                ));
            }
            // Never put the body in an error: it holds the token.
            let answer: TokenAnswer =
                serde_json::from_slice(&response.body).map_err(|_| Error::Decode {
                    method: "POST".into(),
                    path: uri.path().to_owned(),
                    message: "the token answer is not the expected JSON".into(),
                })?;
            let grant = TokenGrant::from(answer);
            self.set_token(grant.access_token.clone());
            Ok(grant)
        }
        .instrument(span)
        .await
    }

    /// Starts the authorization-code flow: the URL to send the user to, with a
    /// fresh random `state`.
    pub fn authorization_request(
        &self,
        redirect_uri: &str,
        scopes: &[&str],
    ) -> Result<AuthorizationRequest, Error> {
        let app = self.inner.app.as_ref().ok_or(Error::MissingCredentials(
            "the app's client id (ClientBuilder::app)",
        ))?;
        let state = random_state()?;
        let scope = scopes.join(" ");
        let query = form_encode(&[
            ("response_type", "code"),
            ("client_id", &app.client_id),
            ("redirect_uri", redirect_uri),
            ("scope", &scope),
            ("state", &state),
        ]);
        Ok(AuthorizationRequest {
            url: format!("{}/oauth/authorize?{query}", self.inner.origin.url()),
            state,
            redirect_uri: redirect_uri.to_owned(),
        })
    }

    /// Finishes the authorization-code flow: checks `returned_state`, exchanges
    /// `code` for a token, and uses it.
    pub async fn exchange_code(
        &self,
        request: &AuthorizationRequest,
        returned_state: &str,
        code: &str,
    ) -> Result<TokenGrant, Error> {
        request.check_state(returned_state)?;
        self.token_call(
            "/oauth/access_token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &request.redirect_uri),
            ],
        )
        .await
    }

    /// Gets an app-only ("unauthenticated") token for public data, and uses it.
    /// Such tokens cannot upload (error code 8002).
    pub async fn client_credentials(&self, scopes: &[&str]) -> Result<TokenGrant, Error> {
        let scope = if scopes.is_empty() {
            "public".to_owned()
        } else {
            scopes.join(" ")
        };
        self.token_call(
            "/oauth/authorize/client",
            &[("grant_type", "client_credentials"), ("scope", &scope)],
        )
        .await
    }

    /// Exchanges a legacy OAuth 1.0a access token for an API v3 token, and uses it.
    pub async fn convert_oauth1_token(
        &self,
        token: &str,
        token_secret: &str,
    ) -> Result<TokenGrant, Error> {
        self.token_call(
            "/oauth/authorize/vimeo_oauth1",
            &[
                ("grant_type", "vimeo_oauth1"),
                ("token", token),
                ("token_secret", token_secret),
            ],
        )
        .await
    }
}
