//! Which proxy, if any, a request goes through: the caller's settings and the
//! environment (read the way curl reads it) turned into hyper-util's proxy
//! [`Matcher`]. Pure: the environment is a lookup function, so the rules are
//! tested on plain values.

use std::fmt;

use hyper_util::client::proxy::matcher::Matcher;

use crate::error::Error;

/// The caller's proxy settings (see [`crate::ConnectorBuilder::proxy`]).
#[derive(Clone)]
pub(crate) struct ProxySettings {
    /// One proxy for every target, in place of the environment's.
    pub(crate) url: Option<String>,
    /// Hosts reached directly, in place of the environment's `NO_PROXY`.
    pub(crate) no_proxy: Option<String>,
    /// Whether the environment is read at all.
    pub(crate) env: bool,
}

impl Default for ProxySettings {
    fn default() -> Self {
        ProxySettings {
            url: None,
            no_proxy: None,
            env: true,
        }
    }
}

impl fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxySettings")
            .field("url", &self.url.as_deref().map(without_userinfo))
            .field("no_proxy", &self.no_proxy)
            .field("env", &self.env)
            .finish()
    }
}

/// Where each variable is looked up, first match wins (as curl and
/// hyper-util order them). An empty value counts as unset.
const HTTP_VARS: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
const HTTPS_VARS: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
const ALL_VARS: [&str; 2] = ["ALL_PROXY", "all_proxy"];
const NO_VARS: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// Turns settings and an environment into a matcher, or `None` when every
/// connection is direct. A proxy URL that cannot be used is an error naming
/// where it came from (never its value: it may hold a password).
pub(crate) fn resolve(
    settings: &ProxySettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Matcher>, Error> {
    let lookup = |names: &[&'static str]| {
        names.iter().find_map(|name| {
            env(name)
                .filter(|value| !value.trim().is_empty())
                .map(|value| (*name, value))
        })
    };
    let mut builder = Matcher::builder();
    let mut any = false;
    if let Some(url) = &settings.url {
        check_proxy_url("the proxy URL", url)?;
        builder = builder.all(url.trim());
        any = true;
    } else if settings.env {
        // Under CGI a request's `Proxy:` header arrives as HTTP_PROXY
        // ("httpoxy"), so the upper-case form is not trusted there.
        let cgi = env("REQUEST_METHOD").is_some();
        let http_vars: &[&'static str] = if cgi { &HTTP_VARS[1..] } else { &HTTP_VARS };
        for (vars, scheme) in [
            (http_vars, "http"),
            (&HTTPS_VARS[..], "https"),
            (&ALL_VARS[..], "all"),
        ] {
            if let Some((name, value)) = lookup(vars) {
                check_proxy_url(name, &value)?;
                builder = match scheme {
                    "http" => builder.http(value.trim()),
                    "https" => builder.https(value.trim()),
                    _ => builder.all(value.trim()),
                };
                any = true;
            }
        }
    }
    if !any {
        return Ok(None);
    }
    let no_proxy = match &settings.no_proxy {
        Some(list) => Some(list.clone()),
        None if settings.env => lookup(&NO_VARS).map(|(_, value)| value),
        None => None,
    };
    if let Some(list) = no_proxy {
        // curl's `*` bypasses every host; hyper-util's matcher applies it to
        // names only, not to IP addresses, so it is decided here.
        if list.split(',').any(|entry| entry.trim() == "*") {
            return Ok(None);
        }
        builder = builder.no(list);
    }
    Ok(Some(builder.build()))
}

/// Only plain-HTTP proxies are supported (an `https://` proxy or SOCKS would
/// need another transport); anything else is refused rather than silently
/// bypassed, since the caller asked for their traffic to go through it.
fn check_proxy_url(setting: &str, url: &str) -> Result<(), Error> {
    let invalid = |reason: &str| Error::InvalidProxy {
        setting: setting.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: http::Uri = url.trim().parse().map_err(|_| invalid("not a valid URL"))?;
    match uri.scheme_str() {
        None | Some("http") => {}
        Some("https") => {
            return Err(invalid(
                "https:// proxies are not supported; use an http:// proxy (HTTPS targets still go through an end-to-end TLS tunnel)",
            ));
        }
        Some(other) if other.starts_with("socks") => {
            return Err(invalid(
                "SOCKS proxies are not supported; use an http:// proxy",
            ));
        }
        Some(_) => return Err(invalid("the proxy URL must start with http://")),
    }
    let authority = uri
        .authority()
        .ok_or_else(|| invalid("the proxy URL has no host"))?;
    let host = authority.as_str().rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid("the proxy URL has no host"));
    }
    Ok(())
}

/// A proxy URL fit for logs and errors: no user name or password.
pub(crate) fn without_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            let authority = &rest[..end];
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}")
        }
        None => url.rsplit('@').next().unwrap_or(url).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn route(matcher: &Option<Matcher>, target: &str) -> Option<String> {
        let uri: http::Uri = target.parse().unwrap();
        matcher
            .as_ref()?
            .intercept(&uri)
            .map(|i| i.uri().authority().unwrap().to_string())
    }

    fn from_env(pairs: &[(&str, &str)]) -> Option<Matcher> {
        resolve(&ProxySettings::default(), &env_of(pairs)).unwrap()
    }

    #[test]
    fn nothing_set_means_direct() {
        assert!(from_env(&[]).is_none());
        assert!(from_env(&[("HTTP_PROXY", "  ")]).is_none());
    }

    #[test]
    fn each_scheme_has_its_variable_and_all_proxy_fills_in() {
        let m = from_env(&[("HTTP_PROXY", "http://h:1"), ("HTTPS_PROXY", "http://s:2")]);
        assert_eq!(route(&m, "http://example.com/").as_deref(), Some("h:1"));
        assert_eq!(route(&m, "https://example.com/").as_deref(), Some("s:2"));
        let m = from_env(&[("all_proxy", "a:3"), ("https_proxy", "http://s:2")]);
        assert_eq!(route(&m, "http://example.com/").as_deref(), Some("a:3"));
        assert_eq!(route(&m, "https://example.com/").as_deref(), Some("s:2"));
    }

    #[test]
    fn upper_case_wins_over_lower_case() {
        let m = from_env(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
        ]);
        assert_eq!(route(&m, "https://x/").as_deref(), Some("upper:1"));
    }

    #[test]
    fn cgi_ignores_upper_case_http_proxy() {
        let m = from_env(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1")]);
        assert!(m.is_none());
        let m = from_env(&[("REQUEST_METHOD", "GET"), ("http_proxy", "http://ok:1")]);
        assert_eq!(route(&m, "http://x/").as_deref(), Some("ok:1"));
    }

    #[test]
    fn no_proxy_takes_domains_suffixes_ips_and_cidrs() {
        let m = from_env(&[
            ("ALL_PROXY", "http://p:8"),
            (
                "NO_PROXY",
                "example.com, .internal, 10.1.2.3, 192.168.0.0/16, ::1",
            ),
        ]);
        for direct in [
            "http://example.com/",
            "https://api.example.com/",
            "http://db.internal/",
            "http://10.1.2.3:8080/",
            "https://192.168.44.5/",
            "http://[::1]:80/",
        ] {
            assert_eq!(route(&m, direct), None, "{direct} should be direct");
        }
        for proxied in [
            "http://notexample.com/",
            "https://internal.net/",
            "http://10.1.2.4/",
            "http://192.169.0.1/",
        ] {
            assert_eq!(
                route(&m, proxied).as_deref(),
                Some("p:8"),
                "{proxied} should be proxied"
            );
        }
        for list in ["*", "example.com, *"] {
            let m = from_env(&[("ALL_PROXY", "http://p:8"), ("no_proxy", list)]);
            for target in ["http://anything/", "http://10.0.0.1/", "https://[::1]/"] {
                assert_eq!(route(&m, target), None, "{list}: {target}");
            }
        }
    }

    #[test]
    fn an_explicit_proxy_replaces_the_environment_but_keeps_no_proxy() {
        let settings = ProxySettings {
            url: Some("http://mine:9".into()),
            ..ProxySettings::default()
        };
        let env = env_of(&[("HTTPS_PROXY", "http://theirs:1"), ("NO_PROXY", "skip.me")]);
        let m = resolve(&settings, &env).unwrap();
        assert_eq!(route(&m, "https://x/").as_deref(), Some("mine:9"));
        assert_eq!(route(&m, "http://x/").as_deref(), Some("mine:9"));
        assert_eq!(route(&m, "https://skip.me/"), None);
        let settings = ProxySettings {
            no_proxy: Some(String::new()),
            ..settings
        };
        let m = resolve(&settings, &env).unwrap();
        assert_eq!(route(&m, "https://skip.me/").as_deref(), Some("mine:9"));
    }

    #[test]
    fn the_environment_can_be_turned_off() {
        let settings = ProxySettings {
            env: false,
            ..ProxySettings::default()
        };
        let env = env_of(&[("ALL_PROXY", "http://theirs:1")]);
        assert!(resolve(&settings, &env).unwrap().is_none());
    }

    #[test]
    fn credentials_become_a_sensitive_basic_header() {
        let m = from_env(&[("HTTPS_PROXY", "http://user:p%40ss@p:8")]);
        let uri: http::Uri = "https://x/".parse().unwrap();
        let intercept = m.unwrap().intercept(&uri).unwrap();
        let auth = intercept.basic_auth().unwrap();
        assert_eq!(auth, "Basic dXNlcjpwQHNz"); // user:p@ss
        assert!(auth.is_sensitive());
        assert_eq!(intercept.uri().authority().unwrap().as_str(), "p:8");
    }

    #[test]
    fn unusable_proxies_are_refused_naming_the_setting_not_the_value() {
        for (value, expected) in [
            ("https://user:secret@p:1", "https://"),
            ("socks5://user:secret@p:1", "SOCKS"),
            ("ftp://user:secret@p:1", "http://"),
            ("http://user:secret@:1", "no host"),
            ("http://user:secret@p:1:2", "not a valid URL"),
        ] {
            let error = resolve(
                &ProxySettings::default(),
                &env_of(&[("HTTPS_PROXY", value)]),
            )
            .unwrap_err();
            let text = error.to_string();
            assert!(text.contains("HTTPS_PROXY"), "{text}");
            assert!(text.contains(expected), "{value}: {text}");
            assert!(!text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn userinfo_is_cut_for_display() {
        assert_eq!(without_userinfo("http://u:pw@h:1/x"), "http://h:1");
        assert_eq!(without_userinfo("u:pw@h:1"), "h:1");
        assert_eq!(without_userinfo("http://h:1"), "http://h:1");
    }
}
