//! The cookie store: the storage model (RFC 6265bis §5.7), the `Cookie` header (§5.8.3), and
//! eviction. Every decision about what is stored and what is sent lives in this file.

use std::time::{SystemTime, UNIX_EPOCH};

use url::Url;

use super::matching::{
    RequestHost, default_path, domain_match, is_public_suffix, is_secure, path_match,
};
use super::parse::{PathAttribute, SetCookie, parse_set_cookie};
use super::{Cookie, CookieLimits, CookieRejected, MAX_LIFETIME, SameSite};
use crate::Headers;

/// A cookie jar: the cookies a client keeps between requests (RFC 6265bis).
///
/// Plain data, with no clock: every call that needs the time takes `now`. Share one between
/// clients and threads with [`SharedJar`](super::SharedJar). See the [module docs](super) for
/// the run loop, the limits and what duet leaves to browsers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieJar {
    /// In insertion order; a replaced cookie keeps its place, so cookies created at the same
    /// instant keep the order they arrived in (§5.8.3 leaves that order open).
    cookies: Vec<Cookie>,
    limits: CookieLimits,
}

/// Whether `text` starts with `prefix`, ignoring ASCII case (§5.7 steps 20–22).
fn has_prefix(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// §5.7 step 6 with §5.6.1–2: `Max-Age` wins over `Expires`; `Max-Age` <= 0 means "expired
/// already"; both are capped at [`MAX_LIFETIME`] from `now`. `None` makes a session cookie.
fn expiry(parsed: &SetCookie<'_>, now: SystemTime) -> Option<SystemTime> {
    let latest = now.checked_add(MAX_LIFETIME).unwrap_or(now);
    match (parsed.max_age, parsed.expires) {
        (Some(secs), _) if secs <= 0 => Some(UNIX_EPOCH.min(now)),
        (Some(secs), _) => {
            let secs = std::time::Duration::from_secs(secs.unsigned_abs());
            Some(now.checked_add(secs).map_or(latest, |t| t.min(latest)))
        }
        (None, Some(expires)) => Some(expires.min(latest)),
        (None, None) => None,
    }
}

/// Strips one leading dot and lowercases a domain given by the caller.
fn normalize_domain(domain: &str) -> String {
    domain
        .strip_prefix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase()
}

impl CookieJar {
    /// An empty jar with the default [`CookieLimits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty jar that enforces `limits`.
    pub fn with_limits(limits: CookieLimits) -> Self {
        CookieJar {
            cookies: Vec::new(),
            limits,
        }
    }

    /// The caps this jar enforces.
    pub fn limits(&self) -> &CookieLimits {
        &self.limits
    }

    /// How many cookies the jar holds (expired ones too, until the next store or
    /// [`remove_expired`](Self::remove_expired)).
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// True when the jar holds no cookie.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// Stores every `Set-Cookie` of a response received from `url` at `now`, in header order
    /// (the §5.7 storage model, as [`store`](Self::store) does for one).
    ///
    /// Call it for every response, redirects included. Bad cookies are ignored, as
    /// browsers do; the return value is how many `Set-Cookie` values were accepted (a value
    /// that deletes a cookie counts). To learn why one was refused, pass it to
    /// [`store`](Self::store).
    pub fn store_response(&mut self, url: &Url, headers: &Headers, now: SystemTime) -> usize {
        headers
            .get_all("set-cookie")
            .filter(|value| match std::str::from_utf8(value) {
                Ok(text) => self.store(url, text, now).is_ok(),
                Err(_) => false,
            })
            .count()
    }

    /// Runs one `Set-Cookie` value received from `url` at `now` through the storage model
    /// (RFC 6265bis §5.7): the cookie is stored, replaces the one with the same name, domain
    /// and path (keeping its creation time, step 23), or — when it has already expired
    /// (`Max-Age=0`, an `Expires` in the past) — deletes that one and stores nothing.
    ///
    /// Returns the step that refused the cookie; the jar is then unchanged. Nothing is fatal:
    /// the jar takes further cookies as before.
    pub fn store(
        &mut self,
        url: &Url,
        set_cookie: &str,
        now: SystemTime,
    ) -> Result<(), CookieRejected> {
        let host = RequestHost::of(url).ok_or_else(|| CookieRejected::NoHost {
            url: url.to_string(),
        })?;
        // §5.6 and §5.7 steps 1–4.
        let parsed = parse_set_cookie(set_cookie)?;
        let secure_origin = is_secure(url);
        let (domain, host_only) = Self::domain_of(&parsed, &host)?;
        // Step 11.
        let path = match parsed.path {
            PathAttribute::Given(path) => path.to_owned(),
            PathAttribute::Absent | PathAttribute::Default => default_path(url.path()).to_owned(),
        };
        // Steps 12–13.
        if parsed.secure && !secure_origin {
            return Err(CookieRejected::SecureFromInsecure);
        }
        // Step 16: an insecure origin may not set a cookie that shadows a Secure one.
        if !parsed.secure && !secure_origin && self.shadows_secure(parsed.name, &domain, &path, now)
        {
            return Err(CookieRejected::ShadowsSecure {
                name: parsed.name.to_owned(),
            });
        }
        // Step 19 (steps 17–18 are SameSite enforcement, a browser matter).
        if parsed.same_site == Some(SameSite::None) && !parsed.secure {
            return Err(CookieRejected::SameSiteNoneWithoutSecure);
        }
        Self::check_prefixes(&parsed)?;

        let cookie = Cookie {
            name: parsed.name.to_owned(),
            value: parsed.value.to_owned(),
            domain,
            host_only,
            path,
            secure: parsed.secure,
            http_only: parsed.http_only,
            same_site: parsed.same_site,
            expires: expiry(&parsed, now),
            created: now,
            last_access: now,
        };
        // Step 25 removes expired cookies; do it first, so that none is "replaced".
        self.remove_expired(now);
        match self.position(&cookie.domain, &cookie.path, &cookie.name) {
            // Steps 23–25: an expired cookie only deletes the one it would replace.
            Some(index) if cookie.is_expired(now) => {
                self.cookies.remove(index);
            }
            None if cookie.is_expired(now) => {}
            Some(index) => {
                let created = self.cookies[index].created;
                self.cookies[index] = Cookie { created, ..cookie };
            }
            None => {
                let domain = cookie.domain.clone();
                self.cookies.push(cookie);
                self.evict(&domain);
            }
        }
        Ok(())
    }

    /// Steps 7–10: the cookie's domain and host-only flag, from the `Domain` attribute.
    fn domain_of(
        parsed: &SetCookie<'_>,
        host: &RequestHost,
    ) -> Result<(String, bool), CookieRejected> {
        let Some(attribute) = &parsed.domain else {
            return Ok((host.name.clone(), true));
        };
        let mismatch = || CookieRejected::DomainMismatch {
            domain: attribute.clone(),
            host: host.name.clone(),
        };
        // Step 8.
        if !attribute.is_ascii() {
            return Err(CookieRejected::NonAsciiDomain {
                domain: attribute.clone(),
            });
        }
        // An IP address has no subdomains: the attribute must name the host itself.
        if host.is_ip {
            return match host.is(attribute) {
                true => Ok((host.name.clone(), true)),
                false => Err(mismatch()),
            };
        }
        // Step 9: a public suffix only as the request host itself, and then host-only.
        if is_public_suffix(attribute) {
            return match *attribute == host.name {
                true => Ok((host.name.clone(), true)),
                false => Err(CookieRejected::PublicSuffix {
                    domain: attribute.clone(),
                    host: host.name.clone(),
                }),
            };
        }
        // Step 10.
        match host.domain_matches(attribute) {
            true => Ok((attribute.clone(), false)),
            false => Err(mismatch()),
        }
    }

    /// Step 16: a Secure cookie with this name whose domain overlaps and whose path the new
    /// cookie's path matches.
    fn shadows_secure(&self, name: &str, domain: &str, path: &str, now: SystemTime) -> bool {
        self.cookies.iter().any(|old| {
            old.secure
                && !old.is_expired(now)
                && old.name == name
                && (domain_match(&old.domain, domain, false)
                    || domain_match(domain, &old.domain, false))
                && path_match(path, &old.path)
        })
    }

    /// Steps 20–22: the `__Secure-` and `__Host-` name prefixes, ignoring case.
    fn check_prefixes(parsed: &SetCookie<'_>) -> Result<(), CookieRejected> {
        if has_prefix(parsed.name, "__Secure-") && !parsed.secure {
            return Err(CookieRejected::SecurePrefix);
        }
        if has_prefix(parsed.name, "__Host-")
            && !(parsed.secure
                && parsed.domain.is_none()
                && parsed.path == PathAttribute::Given("/"))
        {
            return Err(CookieRejected::HostPrefix);
        }
        if parsed.name.is_empty()
            && (has_prefix(parsed.value, "__Secure-") || has_prefix(parsed.value, "__Host-"))
        {
            return Err(CookieRejected::NamelessPrefix);
        }
        Ok(())
    }

    /// The `Cookie` header value for a request to `url` at `now` (RFC 6265bis §5.8.3):
    /// `name=value; name2=value2` (a nameless cookie is its value alone), or `None` when no
    /// cookie matches.
    ///
    /// A cookie matches when it has not expired, its domain is the request host (host-only) or
    /// one the host domain-matches, its path path-matches the request path, and, if Secure, the
    /// URL is `https`/`wss`. Cookies come with longer paths first, then older creation times
    /// first; those that do not fit in [`CookieLimits::max_header_bytes`] are left out. The
    /// last-access time of each cookie sent becomes `now` (step 3).
    pub fn cookie_header(&mut self, url: &Url, now: SystemTime) -> Option<String> {
        let selected = self.select(url, now);
        if selected.is_empty() {
            return None;
        }
        let mut header = String::new();
        for &index in &selected {
            let cookie = &mut self.cookies[index];
            cookie.last_access = now;
            if !header.is_empty() {
                header.push_str("; ");
            }
            if !cookie.name.is_empty() {
                header.push_str(&cookie.name);
                header.push('=');
            }
            header.push_str(&cookie.value);
        }
        Some(header)
    }

    /// The cookies [`cookie_header`](Self::cookie_header) would send to `url` at `now`, in the
    /// order it would send them, without touching their last-access times.
    pub fn cookies_for(&self, url: &Url, now: SystemTime) -> Vec<&Cookie> {
        self.select(url, now)
            .into_iter()
            .map(|index| &self.cookies[index])
            .collect()
    }

    /// §5.8.3 steps 1–2, then the header-size cap: indices of the cookies to send, in order.
    fn select(&self, url: &Url, now: SystemTime) -> Vec<usize> {
        if self.cookies.is_empty() {
            return Vec::new();
        }
        let Some(host) = RequestHost::of(url) else {
            return Vec::new();
        };
        let (secure, path) = (is_secure(url), url.path());
        let mut matched: Vec<usize> = (0..self.cookies.len())
            .filter(|&index| {
                let c = &self.cookies[index];
                let domain_ok = match c.host_only {
                    true => host.is(&c.domain),
                    false => host.domain_matches(&c.domain),
                };
                domain_ok
                    && !c.is_expired(now)
                    && path_match(path, &c.path)
                    && (secure || !c.secure)
            })
            .collect();
        // Stable: cookies created at the same instant keep the jar's order.
        matched.sort_by(|&a, &b| {
            let (a, b) = (&self.cookies[a], &self.cookies[b]);
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.created.cmp(&b.created))
        });
        let mut bytes = 0;
        let fits = matched
            .iter()
            .take_while(|&&index| {
                let c = &self.cookies[index];
                let separator = if bytes == 0 { 0 } else { 2 };
                let pair = c.value.len()
                    + if c.name.is_empty() {
                        0
                    } else {
                        c.name.len() + 1
                    };
                bytes += separator + pair;
                bytes <= self.limits.max_header_bytes
            })
            .count();
        matched.truncate(fits);
        matched
    }

    /// The first cookie named `name`, whatever its domain and path (in insertion order). Use
    /// [`get_for`](Self::get_for) when several domains or paths may hold one. Expired cookies
    /// are found until they are removed.
    pub fn get(&self, name: &str) -> Option<&Cookie> {
        self.cookies.iter().find(|c| c.name == name)
    }

    /// The cookie with exactly this domain (a leading dot and case are ignored), path and name.
    pub fn get_for(&self, domain: &str, path: &str, name: &str) -> Option<&Cookie> {
        let index = self.position(&normalize_domain(domain), path, name)?;
        Some(&self.cookies[index])
    }

    /// Every cookie in the jar, in insertion order, expired ones included until removed.
    pub fn iter(&self) -> impl Iterator<Item = &Cookie> {
        self.cookies.iter()
    }

    /// Puts a cookie built by hand (or loaded from a file) in the jar as it is, replacing the
    /// one with the same name, domain and path; the domain is lowercased and loses a leading
    /// dot. The per-domain and total caps apply.
    ///
    /// A cookie that fails [`Cookie::check`] is not stored: a jar only holds cookies it can
    /// send in a valid `Cookie` header. Call `check` first to learn why.
    pub fn insert(&mut self, mut cookie: Cookie) {
        cookie.domain = normalize_domain(&cookie.domain);
        if cookie.check().is_err() {
            return;
        }
        match self.position(&cookie.domain, &cookie.path, &cookie.name) {
            Some(index) => self.cookies[index] = cookie,
            None => {
                let domain = cookie.domain.clone();
                self.cookies.push(cookie);
                self.evict(&domain);
            }
        }
    }

    /// Removes and returns the cookie with exactly this domain (a leading dot and case are
    /// ignored), path and name.
    pub fn remove(&mut self, domain: &str, path: &str, name: &str) -> Option<Cookie> {
        let index = self.position(&normalize_domain(domain), path, name)?;
        Some(self.cookies.remove(index))
    }

    /// Removes every cookie.
    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    /// Removes the cookies that have expired at `now`. [`store`](Self::store) does this too;
    /// [`cookie_header`](Self::cookie_header) and the savers skip expired cookies regardless.
    pub fn remove_expired(&mut self, now: SystemTime) {
        self.cookies.retain(|c| !c.is_expired(now));
    }

    fn position(&self, domain: &str, path: &str, name: &str) -> Option<usize> {
        self.cookies
            .iter()
            .position(|c| c.same_key(domain, path, name))
    }

    /// Removes excess cookies (§5.7, end): beyond the per-domain cap among the cookies with
    /// `domain`, then beyond the total cap, least recently used first (oldest last-access
    /// time, then oldest creation time, then first inserted).
    fn evict(&mut self, domain: &str) {
        while self.cookies.iter().filter(|c| c.domain == domain).count()
            > self.limits.max_cookies_per_domain
        {
            self.evict_one(|c| c.domain == domain);
        }
        while self.cookies.len() > self.limits.max_cookies {
            self.evict_one(|_| true);
        }
    }

    fn evict_one(&mut self, candidate: impl Fn(&Cookie) -> bool) {
        let victim = self
            .cookies
            .iter()
            .enumerate()
            .filter(|(_, c)| candidate(c))
            .min_by_key(|(index, c)| (c.last_access, c.created, *index))
            .map(|(index, _)| index);
        if let Some(index) = victim {
            self.cookies.remove(index);
        }
    }
}
