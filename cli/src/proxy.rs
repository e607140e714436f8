//! The proxy flags: `-x/--proxy URL`, `--no-proxy`, `--proxy-user USER:PASS`.
//!
//! duet's clients have no proxy support yet (it is being written), so [`configure`] refuses
//! any proxy flag with kind `proxy` and says so, rather than sending the request directly and
//! pretending. When the shared `ClientBuilder` gains its proxy methods, [`configure`] is the
//! one function to change: [`ProxySpec`] already holds what the flags say.

use duet_blocking::core::client::{ClientBuilder, Driver};

use crate::args::Args;
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
}

impl ProxySpec {
    /// The proxy flags of `args`.
    pub fn from_args(args: &Args) -> Self {
        ProxySpec {
            url: args.proxy.clone(),
            ignore_environment: args.no_proxy,
            credentials: args.proxy_user.clone(),
        }
    }

    /// The flags given, as written on the command line.
    fn flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if self.url.is_some() {
            flags.push("--proxy");
        }
        if self.ignore_environment {
            flags.push("--no-proxy");
        }
        if self.credentials.is_some() {
            flags.push("--proxy-user");
        }
        flags
    }
}

/// Applies the proxy flags to a client builder. For now every proxy flag fails with kind
/// `proxy` ("not supported yet"); without flags the builder is returned unchanged.
pub fn configure<D: Driver>(
    builder: ClientBuilder<D>,
    proxy: &ProxySpec,
) -> Result<ClientBuilder<D>, Failure> {
    let flags = proxy.flags();
    if flags.is_empty() {
        return Ok(builder);
    }
    Err(Failure::new(
        Kind::Proxy,
        format!(
            "{} not supported yet: duet's clients cannot use a proxy until proxy support lands",
            flags.join(", ")
        ),
    ))
}
