//! The proxy flags: `-x/--proxy URL`, `--no-proxy`, `--proxy-user USER:PASS`,
//! `--proxy-auth-type basic|digest`.
//!
//! Without flags the client follows the proxy environment variables (`http_proxy`,
//! `https_proxy`, `all_proxy`, `no_proxy`), as curl does. `-x` sends every request through
//! one proxy (`http://`, `https://`, `socks5://` or `socks5h://`); `--proxy-user` gives it
//! credentials, sent only to the proxy; `--no-proxy` ignores the environment.

use duet_blocking::core::client::{ClientBuilder, Driver};
use duet_blocking::core::proxy::{Proxy, ProxyConfig};

use crate::args::{Args, AuthType};
use crate::failure::{Failure, Kind};

/// What the proxy flags ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySpec {
    /// `-x/--proxy`: the proxy URL, as given.
    pub url: Option<String>,
    /// `--no-proxy`: ignore `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`.
    pub ignore_environment: bool,
    /// `--proxy-user`: credentials for the proxy.
    pub credentials: Option<(String, String)>,
    /// `--proxy-auth-type`: how the credentials are sent.
    pub auth_type: AuthType,
}

impl ProxySpec {
    /// The proxy flags of `args`.
    pub fn from_args(args: &Args) -> Self {
        ProxySpec {
            url: args.proxy.clone(),
            ignore_environment: args.no_proxy,
            credentials: args.proxy_user.clone(),
            auth_type: args.proxy_auth_type_flagged(),
        }
    }
}

/// Applies the proxy flags to a client builder. An invalid proxy URL, or `--proxy-user`
/// without `-x`, fails with kind `proxy`.
pub fn configure<D: Driver>(
    builder: ClientBuilder<D>,
    proxy: &ProxySpec,
) -> Result<ClientBuilder<D>, Failure> {
    let failure = |message: String| Failure::new(Kind::Proxy, message);
    match (&proxy.url, &proxy.credentials) {
        (Some(url), credentials) => {
            let mut parsed =
                Proxy::parse(url).map_err(|e| failure(format!("invalid proxy {url:?}: {e}")))?;
            let mut builder = builder;
            match (credentials, proxy.auth_type) {
                (Some((user, password)), AuthType::Basic) => {
                    parsed = parsed.with_credentials(user, password);
                }
                (Some((user, password)), AuthType::Digest) => {
                    builder = builder.proxy_digest_auth(user, password);
                }
                (None, _) => {}
            }
            Ok(builder.proxies(ProxyConfig::all(parsed)))
        }
        (None, Some(_)) => Err(failure(
            "--proxy-user needs a proxy (-x/--proxy)".to_owned(),
        )),
        (None, None) if proxy.ignore_environment => Ok(builder.no_proxy()),
        (None, None) => Ok(builder),
    }
}
