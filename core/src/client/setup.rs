//! What a client takes from outside the program when it is built, decided once for both
//! drivers: proxies from the environment, netrc credentials, and where the `SSL_CERT_FILE`
//! roots are.
//!
//! The driver shows the environment (a snapshot of `std::env::vars_os`) and a way to read a
//! file; duet-core decides which variables count, which file to read, whether a missing one
//! matters, and what the result means. The operating system's certificate store is the one
//! thing left to the driver (a platform API, see `TlsSettings::native_roots`).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::ClientConfig;
use super::error::{Error, ErrorKind};
use crate::auth::{Netrc, NetrcAuth};
use crate::proxy::ProxyConfig;

/// A configuration completed from the environment, and the roots file it names.
#[derive(Debug)]
#[non_exhaustive]
pub struct Settled {
    /// The configuration: proxies from `http_proxy` and friends unless the caller set some,
    /// and netrc credentials when asked for and no other credentials are set.
    pub config: ClientConfig,
    /// The file `SSL_CERT_FILE` names, when set and enabled (`TlsSettings::ssl_cert_file`).
    /// It is read when the first TLS connection needs it (see `LazyTls`), so a client that
    /// only speaks plain http never reads it.
    pub ssl_cert_file: Option<PathBuf>,
    /// The directories `SSL_CERT_DIR` names (a list, as `PATH`), when set and enabled
    /// (`TlsSettings::ssl_cert_file` too); read at the first TLS connection, like the file.
    pub ssl_cert_dirs: Vec<PathBuf>,
    /// The file `SSLKEYLOGFILE` names, when set and enabled (`TlsSettings::ssl_key_log_file`):
    /// TLS secrets are appended to it (see `LazyTls::with_key_log`).
    pub ssl_key_log_file: Option<PathBuf>,
}

/// Completes `config` from the environment `env` (name/value pairs, as
/// `std::env::vars_os()` gives them), reading files through `read_file`.
///
/// - Proxies: unless the configuration has some, [`ProxyConfig::from_env`] on the variables
///   that are UTF-8.
/// - netrc (when `ClientBuilder::netrc` asked for it): the given path, which must exist, or
///   `$NETRC`, which must exist when set, or else `$HOME/.netrc`, which may be missing. A
///   file that cannot be read or parsed is an [`ErrorKind::Auth`] error naming it. Its
///   credentials are used only when no other `auth` is configured.
/// - `SSL_CERT_FILE`: its path, when set and enabled (read later, at the first TLS
///   connection; a file that cannot be read then fails that request with a TLS error
///   naming it).
/// - `SSL_CERT_DIR`: its directories (separated as in `PATH`), when set and enabled with
///   `SSL_CERT_FILE`; read at the first TLS connection, where a directory that cannot be
///   listed fails that request with a TLS error naming it.
/// - `SSLKEYLOGFILE`: its path, when set and enabled (opened by the driver at the first
///   TLS connection).
///
/// With `trust_env` off, only the netrc lookup reads `env`.
///
/// A cap of 0 open connections (per host or in all) is an [`ErrorKind::Connect`] error: no
/// request could ever connect, and each would wait out the pool timeout to learn it.
pub fn settle(
    mut config: ClientConfig,
    env: impl IntoIterator<Item = (OsString, OsString)>,
    read_file: &mut dyn FnMut(&Path) -> io::Result<Vec<u8>>,
) -> Result<Settled, Error> {
    for (cap, what) in [
        (config.pool.max_connections_per_host, "per host"),
        (config.pool.max_connections, "in all"),
    ] {
        if cap == Some(0) {
            let message = format!("a cap of 0 open connections {what} lets no request connect");
            return Err(Error::msg(ErrorKind::Connect, message));
        }
    }
    let env: Vec<(OsString, OsString)> = env.into_iter().collect();
    let var = |name: &str| value_of(&env, name);
    // Without trust in the environment, only an explicit netrc request reads it (for
    // `$NETRC` or `$HOME`).
    let trusted: &[(OsString, OsString)] = match config.trust_env {
        true => &env,
        false => &[],
    };
    let trusted_var = |name: &str| value_of(trusted, name);
    if config.proxies.is_none() {
        let text: Vec<(String, String)> = trusted
            .iter()
            .filter_map(|(k, v)| Some((k.to_str()?.to_owned(), v.to_str()?.to_owned())))
            .collect();
        config.proxies = Some(ProxyConfig::from_env(&text));
    }
    if let Some(location) = &config.netrc {
        let (path, must_exist) = match location {
            Some(path) => (Some(path.clone()), true),
            None => match var("NETRC") {
                Some(path) => (Some(PathBuf::from(path)), true),
                None => (
                    var("HOME").map(|home| Path::new(&home).join(".netrc")),
                    false,
                ),
            },
        };
        if let Some(path) = path {
            let auth_error =
                |why: String| Error::msg(ErrorKind::Auth, format!("{}: {why}", path.display()));
            let text = match read_file(&path) {
                Ok(bytes) => {
                    Some(String::from_utf8(bytes).map_err(|_| auth_error("not UTF-8".into()))?)
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && !must_exist => None,
                Err(e) => return Err(auth_error(e.to_string())),
            };
            if let Some(text) = text {
                let netrc = Netrc::parse(&text).map_err(|e| auth_error(e.to_string()))?;
                config.auth.get_or_insert(Arc::new(NetrcAuth::new(netrc)));
            }
        }
    }
    let ssl_cert_file = trusted_var("SSL_CERT_FILE")
        .filter(|path| config.tls.ssl_cert_file && !path.is_empty())
        .map(PathBuf::from);
    let ssl_cert_dirs = trusted_var("SSL_CERT_DIR")
        .filter(|_| config.tls.ssl_cert_file)
        .map(|dirs| {
            std::env::split_paths(&dirs)
                .filter(|dir| !dir.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let ssl_key_log_file = trusted_var("SSLKEYLOGFILE")
        .filter(|path| config.tls.ssl_key_log_file && !path.is_empty())
        .map(PathBuf::from);
    Ok(Settled {
        config,
        ssl_cert_file,
        ssl_cert_dirs,
        ssl_key_log_file,
    })
}

/// The value of `name` in `env`: the last one when it is repeated, as in a real environment.
fn value_of(env: &[(OsString, OsString)], name: &str) -> Option<OsString> {
    env.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

#[cfg(test)]
#[path = "setup_tests.rs"]
mod tests;
