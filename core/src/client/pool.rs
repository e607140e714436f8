//! Connection reuse policy, with no sockets: the drivers store their connections here and ask
//! what to do.
//!
//! Per [`PoolKey`] the pool counts open connections (busy ones plus idle ones) and keeps idle
//! ones newest first, so the warmest connection is reused and stale ones age out. Idle
//! connections older than `idle_timeout` are dropped, never handed out. When a per-host cap is
//! set and reached, [`Pool::checkout`] answers [`Checkout::Full`] and the driver waits (up to
//! the pool timeout) for [`Pool::checkin`] or [`Pool::release`] to free a slot.

use std::collections::HashMap;
use std::time::Instant;

use super::config::PoolConfig;
use super::origin::PoolKey;

/// What [`Pool::checkout`] decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Checkout<T> {
    /// Reuse this idle connection.
    Reuse(T),
    /// Open a new connection; it is counted as open from now on, so call
    /// [`Pool::release`] if opening fails or when it closes.
    Open,
    /// The per-host cap is reached: wait for a slot and ask again.
    Full,
}

#[derive(Debug)]
struct Host<T> {
    /// Idle connections, oldest first, with the time each became idle.
    idle: Vec<(T, Instant)>,
    /// Busy plus idle connections.
    open: usize,
}

/// Idle connections by key, and the count of open ones.
#[derive(Debug)]
pub struct Pool<T> {
    config: PoolConfig,
    /// foldhash: with SipHash, hashing the key (twice per request) cost about 5% of a small
    /// request's instructions.
    hosts: HashMap<PoolKey, Host<T>, foldhash::fast::RandomState>,
}

impl<T> Pool<T> {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Pool {
            config,
            hosts: HashMap::default(),
        }
    }

    /// The newest idle connection for `key` that has not expired, or permission to open one,
    /// or `Full`. Expired idle connections for `key` are dropped on the way.
    pub fn checkout(&mut self, key: &PoolKey, now: Instant) -> Checkout<T> {
        if let Some(conn) = self.take_idle(key, now) {
            return Checkout::Reuse(conn);
        }
        // Look up first: the entry API would clone the key (a host name) on every checkout.
        if !self.hosts.contains_key(key) {
            self.hosts.insert(
                key.clone(),
                Host {
                    idle: Vec::new(),
                    open: 0,
                },
            );
        }
        let host = self.hosts.get_mut(key).expect("inserted above");
        match self.config.max_connections_per_host {
            Some(cap) if host.open >= cap => Checkout::Full,
            _ => {
                host.open += 1;
                Checkout::Open
            }
        }
    }

    /// The newest idle connection for `key` that has not expired, if there is one: unlike
    /// [`checkout`](Self::checkout), no slot is counted for a new connection when there is
    /// none. Expired idle connections for `key` are dropped on the way.
    pub fn take_idle(&mut self, key: &PoolKey, now: Instant) -> Option<T> {
        let idle_timeout = self.config.idle_timeout;
        let host = self.hosts.get_mut(key)?;
        let before = host.idle.len();
        host.idle
            .retain(|(_, since)| now.saturating_duration_since(*since) < idle_timeout);
        host.open -= before - host.idle.len();
        host.idle.pop().map(|(conn, _)| conn)
    }

    /// Like [`checkout`](Self::checkout) but never reuses: for the retry after a pooled
    /// connection turned out stale. The key's other idle connections are dropped too, since
    /// they idled just as long (the server likely restarted or closed them all).
    pub fn checkout_fresh(&mut self, key: &PoolKey, now: Instant) -> Checkout<T> {
        if let Some(host) = self.hosts.get_mut(key) {
            host.open -= host.idle.len();
            host.idle.clear();
        }
        self.checkout(key, now)
    }

    /// Returns a reusable connection after its exchange. If the host already keeps
    /// `max_idle_per_host` idle connections, the oldest is dropped instead.
    pub fn checkin(&mut self, key: &PoolKey, conn: T, now: Instant) {
        let Some(host) = self.hosts.get_mut(key) else {
            return; // not counted here (the pool was cleared): just let it close
        };
        host.idle.push((conn, now));
        if host.idle.len() > self.config.max_idle_per_host {
            host.idle.remove(0);
            host.open -= 1;
        }
    }

    /// A busy connection for `key` closed (or failed to open): frees its slot.
    pub fn release(&mut self, key: &PoolKey) {
        if let Some(host) = self.hosts.get_mut(key) {
            host.open = host.open.saturating_sub(1);
            if host.open == 0 {
                self.hosts.remove(key);
            }
        }
    }

    /// Drops every idle connection that has expired at `now`; returns how many.
    pub fn evict_expired(&mut self, now: Instant) -> usize {
        let idle_timeout = self.config.idle_timeout;
        let mut evicted = 0;
        for host in self.hosts.values_mut() {
            let before = host.idle.len();
            host.idle
                .retain(|(_, since)| now.saturating_duration_since(*since) < idle_timeout);
            let gone = before - host.idle.len();
            host.open -= gone;
            evicted += gone;
        }
        self.hosts.retain(|_, h| h.open > 0);
        evicted
    }

    /// Drops every idle connection.
    pub fn clear_idle(&mut self) {
        for host in self.hosts.values_mut() {
            host.open -= host.idle.len();
            host.idle.clear();
        }
        self.hosts.retain(|_, h| h.open > 0);
    }

    /// Idle connections kept for `key`.
    pub fn idle_count(&self, key: &PoolKey) -> usize {
        self.hosts.get(key).map_or(0, |h| h.idle.len())
    }

    /// Open connections (busy and idle) for `key`.
    pub fn open_count(&self, key: &PoolKey) -> usize {
        self.hosts.get(key).map_or(0, |h| h.open)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::disallowed_methods)]
    use std::time::Duration;

    use super::*;
    use crate::client::origin::Origin;

    fn key(port: u16) -> PoolKey {
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        PoolKey {
            origin: Origin::of(&url).unwrap(),
            tls_profile: 0,
            proxy: None,
        }
    }

    fn config(max_idle: usize, cap: Option<usize>) -> PoolConfig {
        PoolConfig {
            max_idle_per_host: max_idle,
            idle_timeout: Duration::from_secs(90),
            max_connections_per_host: cap,
        }
    }

    #[test]
    fn reuses_newest_first_per_key() {
        let t = Instant::now();
        let mut pool = Pool::new(config(4, None));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        pool.checkin(&key(1), "old", t);
        pool.checkin(&key(1), "new", t + Duration::from_secs(1));
        assert_eq!(
            pool.checkout(&key(2), t),
            Checkout::Open,
            "other keys never share"
        );
        assert_eq!(pool.checkout(&key(1), t), Checkout::Reuse("new"));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Reuse("old"));
        assert_eq!(pool.open_count(&key(1)), 2);
    }

    #[test]
    fn expired_idle_connections_are_dropped() {
        let t = Instant::now();
        let mut pool = Pool::new(config(4, None));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        pool.checkin(&key(1), "a", t);
        assert_eq!(
            pool.checkout(&key(1), t + Duration::from_secs(90)),
            Checkout::Open
        );
        assert_eq!(
            pool.open_count(&key(1)),
            1,
            "the expired one no longer counts"
        );
        pool.checkin(&key(1), "b", t);
        assert_eq!(pool.evict_expired(t + Duration::from_secs(89)), 0);
        assert_eq!(pool.evict_expired(t + Duration::from_secs(91)), 1);
        assert_eq!(pool.open_count(&key(1)), 0);
    }

    #[test]
    fn idle_cap_drops_the_oldest() {
        let t = Instant::now();
        let mut pool = Pool::new(config(1, None));
        for _ in 0..2 {
            assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        }
        pool.checkin(&key(1), "a", t);
        pool.checkin(&key(1), "b", t);
        assert_eq!((pool.idle_count(&key(1)), pool.open_count(&key(1))), (1, 1));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Reuse("b"));
        let mut none = Pool::new(config(0, None));
        assert_eq!(none.checkout(&key(1), t), Checkout::<&str>::Open);
        none.checkin(&key(1), "a", t);
        assert_eq!(none.open_count(&key(1)), 0, "max_idle 0 disables reuse");
    }

    #[test]
    fn per_host_cap() {
        let t = Instant::now();
        let mut pool = Pool::new(config(4, Some(2)));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(1), t), Checkout::Full);
        assert_eq!(pool.checkout(&key(2), t), Checkout::Open);
        pool.release(&key(1));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        pool.checkin(&key(1), "x", t);
        assert_eq!(
            pool.checkout(&key(1), t),
            Checkout::Reuse("x"),
            "an idle one is reused even at the cap"
        );
        pool.clear_idle();
        assert_eq!(pool.open_count(&key(1)), 2);
    }

    #[test]
    fn take_idle_reserves_nothing() {
        let t = Instant::now();
        let mut pool = Pool::new(config(4, Some(2)));
        assert_eq!(pool.take_idle(&key(1), t), None, "an unknown key has none");
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.take_idle(&key(1), t), None, "both open ones are busy");
        assert_eq!(pool.open_count(&key(1)), 2, "and no slot was counted");
        pool.checkin(&key(1), "a", t);
        pool.checkin(&key(1), "b", t + Duration::from_secs(1));
        assert_eq!(pool.take_idle(&key(1), t), Some("b"), "the newest first");
        assert_eq!(
            pool.take_idle(&key(1), t + Duration::from_secs(90)),
            None,
            "\"a\" expired"
        );
        assert_eq!((pool.idle_count(&key(1)), pool.open_count(&key(1))), (0, 1));
        assert_eq!(
            pool.checkout(&key(1), t),
            Checkout::Open,
            "\"a\" freed its slot"
        );
        assert_eq!(
            pool.checkout(&key(1), t),
            Checkout::Full,
            "\"b\" is still out"
        );
    }

    #[test]
    fn fresh_checkout_drops_the_idle_ones() {
        let t = Instant::now();
        let mut pool = Pool::new(config(4, None));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        pool.checkin(&key(1), "a", t);
        assert_eq!(pool.checkout_fresh(&key(1), t), Checkout::Open);
        assert_eq!((pool.idle_count(&key(1)), pool.open_count(&key(1))), (0, 2));
    }
}
