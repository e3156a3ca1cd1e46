//! `--proxy URL` and `--no-proxy`, shared by both tools, checked before any
//! request (with the environment's proxy variables) by the tus crate's rule.

/// The proxy flags. Without either, `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`
/// and `NO_PROXY` (or their lower-case forms) are read as curl reads them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ProxyArgs {
    /// Send requests through this http:// proxy (http://user:password@host:port
    /// authenticates); default: $HTTPS_PROXY / $HTTP_PROXY / $ALL_PROXY, minus $NO_PROXY.
    #[arg(long, global = true, value_name = "URL", conflicts_with = "no_proxy")]
    pub proxy: Option<String>,
    /// Connect directly, ignoring the proxy variables of the environment.
    #[arg(long, global = true)]
    pub no_proxy: bool,
}

impl ProxyArgs {
    /// Checks the flags and the environment's proxy variables: an unusable
    /// proxy is a usage error (exit 2) before any request. The message names
    /// the flag or variable, never its value (it may hold a password), which
    /// is also why `--proxy` is not checked by clap (it would echo the value).
    pub fn check(&self) -> Result<(), crate::Failure> {
        match self.apply(tus::Connector::builder()).build() {
            Ok(_) => Ok(()),
            Err(tus::Error::InvalidProxy { setting, reason }) => {
                // With `--proxy`, the environment's proxy URLs are not read:
                // the flag is the setting at fault.
                let setting = if self.proxy.is_some() {
                    "--proxy"
                } else {
                    &setting
                };
                Err(crate::Failure::usage(format!("{setting}: {reason}")))
            }
            Err(other) => Err(crate::Failure::failed(crate::error_chain(&other))),
        }
    }

    /// Applies the flags to a client or connector builder.
    pub fn apply<B: ProxySettings>(&self, builder: B) -> B {
        let builder = builder.proxy_env(!self.no_proxy);
        match &self.proxy {
            Some(url) => builder.proxy(url.clone()),
            None => builder,
        }
    }
}

/// The builders that take proxy settings (tus and Vimeo clients, connectors).
pub trait ProxySettings {
    /// Sets the proxy URL.
    fn proxy(self, url: String) -> Self;
    /// Sets whether the environment is read.
    fn proxy_env(self, read: bool) -> Self;
}

macro_rules! proxy_settings {
    ($($builder:ty),*) => {$(
        impl ProxySettings for $builder {
            fn proxy(self, url: String) -> Self {
                <$builder>::proxy(self, url)
            }
            fn proxy_env(self, read: bool) -> Self {
                <$builder>::proxy_env(self, read)
            }
        }
    )*};
}

proxy_settings!(
    tus::ClientBuilder,
    tus::ConnectorBuilder,
    vimeo::ClientBuilder
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_proxy_is_a_usage_error_that_hides_its_value() {
        let args = ProxyArgs {
            proxy: Some("socks5://me:hunter2@127.0.0.1:1080".into()),
            no_proxy: false,
        };
        let failure = args.check().unwrap_err();
        assert_eq!(failure.code, crate::EXIT_USAGE);
        assert!(
            failure.message.starts_with("--proxy: "),
            "{}",
            failure.message
        );
        assert!(!failure.message.contains("hunter2"));
        let fine = ProxyArgs {
            proxy: Some("http://me:hunter2@127.0.0.1:3128".into()),
            no_proxy: false,
        };
        fine.check().unwrap();
    }
}
