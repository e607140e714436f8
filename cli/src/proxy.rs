//! The proxy flags: `-x/--proxy URL`, `--no-proxy`, `--proxy-user USER:PASS`,
//! `--proxy-auth-type basic|digest`.
//!
//! Without flags the client follows the proxy environment variables (`http_proxy`,
//! `https_proxy`, `all_proxy`, `no_proxy`), as curl does. `-x` sends every request through
//! one proxy (`http://`, `https://`, `socks5://` or `socks5h://`) but to the hosts `no_proxy`
//! lists, as curl's; `--noproxy LIST` lists them instead of `no_proxy`; `--proxy-user` gives
//! the proxy credentials, sent only to it; `--no-proxy` ignores the environment.

use duet_blocking::core::client::{ClientBuilder, Driver};
use duet_blocking::core::proxy::{NoProxy, Proxy, ProxyConfig};

use crate::args::{Args, AuthType};
use crate::failure::{Failure, Kind};

/// What the proxy flags ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySpec {
    /// `-x/--proxy`: the proxy URL, as given.
    pub url: Option<String>,
    /// `--no-proxy`: ignore `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`.
    pub ignore_environment: bool,
    /// `--noproxy`: hosts to reach directly, instead of the environment's `no_proxy`.
    pub bypass: Option<String>,
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
            bypass: args.noproxy_list.clone(),
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
            let bypass = match &proxy.bypass {
                Some(list) => NoProxy::parse(list),
                None => environment().no_proxy_rules().clone(),
            };
            Ok(builder.proxies(ProxyConfig::all(parsed).no_proxy(bypass)))
        }
        (None, Some(_)) => Err(failure(
            "--proxy-user needs a proxy (-x/--proxy)".to_owned(),
        )),
        (None, None) if proxy.ignore_environment => Ok(builder.no_proxy()),
        (None, None) => match &proxy.bypass {
            Some(list) => Ok(builder.proxies(environment().no_proxy(NoProxy::parse(list)))),
            None => Ok(builder),
        },
    }
}

/// The proxy settings the environment gives, read as the clients read them.
fn environment() -> ProxyConfig {
    let vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    ProxyConfig::from_env(&vars)
}
