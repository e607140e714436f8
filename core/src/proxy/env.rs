//! Proxy settings from the environment variables curl, requests and httpx read.

use super::{NoProxy, Proxy, ProxyConfig};

/// The variables read, lower-case name first.
const HTTP: [&str; 2] = ["http_proxy", "HTTP_PROXY"];
const HTTPS: [&str; 2] = ["https_proxy", "HTTPS_PROXY"];
const ALL: [&str; 2] = ["all_proxy", "ALL_PROXY"];
const NO_PROXY: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// An environment snapshot and the httpoxy switch.
struct Env<'a> {
    vars: &'a [(String, String)],
    cgi: bool,
}

impl<'a> Env<'a> {
    /// The value of the last pair named exactly `name`.
    fn var(&self, name: &str) -> Option<&'a str> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The lower-case variable if present (even empty), else the upper-case one; then
    /// `None` for an empty value. Returns the name read with the value.
    fn lookup(&self, [lower, upper]: [&'static str; 2]) -> Option<(&'static str, &'a str)> {
        let found = match self.var(lower) {
            Some(value) => Some((lower, value)),
            // httpoxy (CVE-2016-5385): under CGI, `HTTP_PROXY` may be the request's
            // `Proxy:` header, chosen by the client of the server running us.
            None if upper == "HTTP_PROXY" && self.cgi => None,
            None => self.var(upper).map(|value| (upper, value)),
        };
        found.filter(|(_, value)| !value.trim().is_empty())
    }
}

impl ProxyConfig {
    /// Proxy settings from an environment snapshot: the `(name, value)` pairs the driver read
    /// from `std::env` (duet-core never reads the environment itself).
    ///
    /// The variables are those of curl, requests and httpx:
    ///
    /// - `http_proxy` — the proxy for `http://` URLs;
    /// - `https_proxy` — the proxy for `https://` URLs;
    /// - `all_proxy` — the proxy for either when its own variable gives none;
    /// - `no_proxy` — hosts reached directly ([`NoProxy`]).
    ///
    /// Each is also read in upper case (`HTTPS_PROXY`...). Names are matched exactly; when
    /// a name appears twice, the last pair wins. The rules where implementations differ:
    ///
    /// - **Lower case wins.** When the lower-case variable is present it is used, even if
    ///   empty, and the upper-case one is not read (curl; Python's `urllib`, used by requests
    ///   and httpx). So `https_proxy=""` turns off an `HTTPS_PROXY` set elsewhere.
    /// - **Empty means unset.** An empty (or blank) value gives no proxy; the scheme then
    ///   falls back to `all_proxy` (Python). An empty `no_proxy` bypasses nothing.
    /// - **httpoxy.** When `REQUEST_METHOD` is present the process may be a CGI script,
    ///   where `HTTP_PROXY` can be set by a request header (CVE-2016-5385), so the upper-case
    ///   `HTTP_PROXY` is ignored; `http_proxy` still counts (Python, Go). curl goes further
    ///   and never reads `HTTP_PROXY`.
    /// - **Malformed values are skipped**, as if the variable were unset (so the scheme falls
    ///   back to `all_proxy`), instead of failing every request; the variable and the error
    ///   are kept in [`ProxyConfig::env_errors`] for the driver to report. A value without
    ///   `scheme://` is an `http` proxy, as in curl and requests.
    ///
    /// ```
    /// use duet_core::proxy::ProxyConfig;
    /// let vars = [
    ///     ("HTTPS_PROXY", "http://upper:3128"),
    ///     ("https_proxy", "http://lower:3128"),
    ///     ("all_proxy", "https://fallback:1080"),
    ///     ("NO_PROXY", "localhost"),
    /// ]
    /// .map(|(n, v)| (n.to_owned(), v.to_owned()));
    /// let config = ProxyConfig::from_env(&vars);
    /// let url = |s: &str| url::Url::parse(s).unwrap();
    /// assert_eq!(config.select(&url("https://example.com/")).unwrap().host(), "lower");
    /// assert_eq!(config.select(&url("http://example.com/")).unwrap().host(), "fallback");
    /// assert_eq!(config.select(&url("http://localhost:8080/")), None);
    /// ```
    pub fn from_env(vars: &[(String, String)]) -> Self {
        let env = Env {
            vars,
            cgi: vars.iter().any(|(name, _)| name == "REQUEST_METHOD"),
        };
        let mut config = ProxyConfig::none();
        let mut parse = |names: [&'static str; 2]| {
            let (name, value) = env.lookup(names)?;
            Proxy::parse(value)
                .map_err(|error| config.set_env_error(name, error))
                .ok()
        };
        let all = parse(ALL);
        let http = parse(HTTP).or_else(|| all.clone());
        let https = parse(HTTPS).or(all);
        config.http = http;
        config.https = https;
        if let Some((_, value)) = env.lookup(NO_PROXY) {
            config.no_proxy = NoProxy::parse(value);
        }
        config
    }
}

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
