//! One jar shared between clients and threads.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use url::Url;

use super::{Cookie, CookieJar, CookieRejected};
use crate::Headers;

/// A [`CookieJar`] shared between clients and threads: `Arc<Mutex<CookieJar>>`. Clones share
/// one jar. Both drivers keep their session cookies in one.
///
/// Each method holds the lock for one jar operation; [`lock`](Self::lock) gives the jar for
/// several at once. A panic while the lock was held does not lose the jar: every jar operation
/// leaves it consistent, so the lock is taken back from a poisoned mutex.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let url = url::Url::parse("https://example.com/").unwrap();
/// let jar = duet_core::cookies::SharedJar::new();
/// let other = jar.clone();
/// jar.store(&url, "sid=abc", now).unwrap();
/// assert_eq!(other.cookie_header(&url, now).as_deref(), Some("sid=abc"));
/// ```
#[derive(Clone, Default, Debug)]
pub struct SharedJar(Arc<Mutex<CookieJar>>);

impl SharedJar {
    /// A new, empty shared jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// The jar, locked until the guard is dropped; recovers the jar from a poisoned lock.
    pub fn lock(&self) -> MutexGuard<'_, CookieJar> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether two handles share one jar.
    pub fn ptr_eq(&self, other: &SharedJar) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// [`CookieJar::store_response`] under the lock.
    pub fn store_response(&self, url: &Url, headers: &Headers, now: SystemTime) -> usize {
        self.lock().store_response(url, headers, now)
    }

    /// [`CookieJar::store`] under the lock.
    pub fn store(
        &self,
        url: &Url,
        set_cookie: &str,
        now: SystemTime,
    ) -> Result<(), CookieRejected> {
        self.lock().store(url, set_cookie, now)
    }

    /// [`CookieJar::cookie_header`] under the lock.
    pub fn cookie_header(&self, url: &Url, now: SystemTime) -> Option<String> {
        self.lock().cookie_header(url, now)
    }

    /// A copy of the first cookie named `name` ([`CookieJar::get`]).
    pub fn get(&self, name: &str) -> Option<Cookie> {
        self.lock().get(name).cloned()
    }

    /// A copy of the cookie `name` set for exactly this domain and path
    /// ([`CookieJar::get_for`]), when one jar holds several sites' cookies of that name.
    pub fn get_for(&self, domain: &str, path: &str, name: &str) -> Option<Cookie> {
        self.lock().get_for(domain, path, name).cloned()
    }

    /// Copies of the cookies a request to `url` would send at `now`
    /// ([`CookieJar::cookies_for`]), in the order of the `Cookie` header.
    pub fn cookies_for(&self, url: &Url, now: SystemTime) -> Vec<Cookie> {
        self.lock()
            .cookies_for(url, now)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Copies of every cookie in the jar.
    pub fn cookies(&self) -> Vec<Cookie> {
        self.lock().iter().cloned().collect()
    }

    /// The number of cookies in the jar.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the jar holds no cookie.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// [`CookieJar::insert`] under the lock.
    pub fn insert(&self, cookie: Cookie) {
        self.lock().insert(cookie);
    }

    /// [`CookieJar::remove`] under the lock.
    pub fn remove(&self, domain: &str, path: &str, name: &str) -> Option<Cookie> {
        self.lock().remove(domain, path, name)
    }

    /// [`CookieJar::clear`] under the lock.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// [`CookieJar::remove_expired`] under the lock.
    pub fn remove_expired(&self, now: SystemTime) {
        self.lock().remove_expired(now);
    }

    /// A copy of the jar as it is now.
    pub fn snapshot(&self) -> CookieJar {
        self.lock().clone()
    }

    /// Puts `jar` in place of the shared one (after loading a file, say); returns the old one.
    pub fn replace(&self, jar: CookieJar) -> CookieJar {
        std::mem::replace(&mut *self.lock(), jar)
    }

    /// [`CookieJar::to_json`] under the lock.
    pub fn to_json(&self, now: SystemTime, include_session: bool) -> String {
        self.lock().to_json(now, include_session)
    }

    /// [`CookieJar::to_netscape`] under the lock.
    pub fn to_netscape(&self, now: SystemTime, include_session: bool) -> String {
        self.lock().to_netscape(now, include_session)
    }
}

impl From<CookieJar> for SharedJar {
    fn from(jar: CookieJar) -> Self {
        SharedJar(Arc::new(Mutex::new(jar)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn clones_share_one_jar_across_threads() {
        let jar = SharedJar::new();
        let url = Url::parse("https://example.com/").unwrap();
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (jar, url) = (jar.clone(), url.clone());
                std::thread::spawn(move || jar.store(&url, &format!("c{i}={i}"), now()).unwrap())
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(jar.lock().len(), 4);
        assert!(jar.ptr_eq(&jar.clone()) && !jar.ptr_eq(&SharedJar::new()));
        assert_eq!(jar.get("c2").unwrap().value, "2");
    }

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let jar = SharedJar::new();
        jar.insert(Cookie::new("a", "1", "example.com", now()));
        let poisoner = jar.clone();
        let result = std::thread::spawn(move || {
            let _guard = poisoner.lock();
            panic!("poison the lock");
        })
        .join();
        assert!(result.is_err());
        assert!(jar.0.is_poisoned());
        assert_eq!(jar.get("a").map(|c| c.value), Some("1".to_owned()));
        jar.clear();
        assert!(jar.lock().is_empty());
    }

    #[test]
    fn passthroughs() {
        let url = Url::parse("https://example.com/").unwrap();
        let mut held = CookieJar::new();
        held.insert(Cookie::new("held", "0", "example.com", now()));
        let jar = SharedJar::from(held);
        assert_eq!(jar.get("held").map(|c| c.value), Some("0".into()));
        jar.clear();
        assert!(jar.is_empty());
        let mut headers = Headers::new();
        headers.append("Set-Cookie", "a=1; Max-Age=60").unwrap();
        headers.append("Set-Cookie", "b=2").unwrap();
        assert_eq!(jar.store_response(&url, &headers, now()), 2);
        assert!(!jar.is_empty());
        assert_eq!(jar.cookie_header(&url, now()).as_deref(), Some("a=1; b=2"));
        assert!(jar.to_json(now(), false).contains("\"a\""));
        // Without session cookies: the persistent `a` only.
        let netscape = jar.to_netscape(now(), false);
        assert!(netscape.contains("\ta\t1\n") && !netscape.contains("\tb\t"));
        assert_eq!(jar.snapshot().len(), 2);
        let old = jar.replace(CookieJar::new());
        assert_eq!(old.len(), 2);
        assert!(jar.snapshot().is_empty() && jar.is_empty());
        jar.insert(Cookie::new("c", "3", "example.com", now()));
        assert_eq!(
            jar.remove("example.com", "/", "c").map(|c| c.value),
            Some("3".into())
        );
        jar.store(&url, "d=4; Max-Age=1", now()).unwrap();
        jar.remove_expired(now() + Duration::from_secs(1));
        assert!(jar.lock().is_empty());
    }

    #[test]
    fn per_site_lookups_when_sites_share_a_name() {
        let jar = SharedJar::new();
        let a = Url::parse("https://a.example/app/").unwrap();
        let b = Url::parse("https://b.example/").unwrap();
        jar.store(&a, "csrftoken=for-a; Path=/app", now()).unwrap();
        jar.store(&b, "csrftoken=for-b", now()).unwrap();
        assert_eq!(jar.len(), 2);
        assert!(!jar.is_empty());
        assert_eq!(
            jar.get_for("b.example", "/", "csrftoken").map(|c| c.value),
            Some("for-b".to_owned())
        );
        assert_eq!(
            jar.get_for("a.example", "/app", "csrftoken")
                .map(|c| c.value),
            Some("for-a".to_owned())
        );
        let for_a: Vec<String> = jar
            .cookies_for(&a, now())
            .into_iter()
            .map(|c| c.value)
            .collect();
        assert_eq!(for_a, ["for-a"]);
        assert!(
            jar.cookies_for(&Url::parse("https://a.example/other").unwrap(), now())
                .is_empty()
        );
        assert_eq!(jar.cookies().len(), 2);
    }
}
