//! OAuth 2 for API v3: access tokens, the authorization-code flow, client
//! credentials, and the exchange of a legacy OAuth 1.0a token.

use std::fmt;

use serde::Deserialize;

use crate::{Error, User};

/// A bearer token. `Debug` and `Display` never show it; [`AccessToken::expose`]
/// does, for the one place that sends it.
///
/// ```
/// let token = vimeo::AccessToken::new("abc123");
/// assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
/// assert_eq!(token.expose(), "abc123");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token (a personal access token, or one from a flow below).
    pub fn new(token: impl Into<String>) -> Self {
        AccessToken(token.into())
    }

    /// The token itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

impl From<&str> for AccessToken {
    fn from(token: &str) -> Self {
        AccessToken::new(token)
    }
}

impl From<String> for AccessToken {
    fn from(token: String) -> Self {
        AccessToken::new(token)
    }
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
