//! Connection reuse policy, with no sockets: the drivers store their connections here and ask
//! what to do.
//!
//! Per [`PoolKey`] the pool counts open connections (busy ones plus idle ones) and keeps idle
//! ones newest first, so the warmest connection is reused and stale ones age out. Idle
//! connections older than `idle_timeout` are dropped, never handed out; so are those idle
//! near the time the server said it keeps them (`Keep-Alive: timeout=N`, see
//! [`Pool::checkin`]), when it may be closing one just as a request goes out on it. When a
//! per-host cap is set and reached, [`Pool::checkout`] answers [`Checkout::Full`] and the
//! driver waits (up to the pool timeout) for [`Pool::checkin`] or [`Pool::release`] to free
//! a slot.
//!
//! Two bounds hold across keys (httpx's limits): `max_idle` idle connections in all (past it
//! the one idle longest goes), and, when set, `max_connections` open ones in all. At that
//! cap a new connection first closes the one idle longest under another key; only when
//! every open connection is busy is the answer `Full`. A slot freed under one key may be the
//! one a request for another key waits for, so drivers wake every waiter, not one.
//!
//! Expired idle connections under every key are dropped (closing their sockets) by the next
//! checkout once the earliest of them is due, as httpx's pool does on each request; a client
//! that stays unused keeps them until then, or until [`Pool::evict_expired`] is called.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::config::PoolConfig;
use super::origin::PoolKey;

/// What [`Pool::checkout`] decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Checkout<T> {
    /// Reuse this idle connection, once the driver has checked that it still looks open
    /// (the server has neither closed it nor sent anything since its last answer).
    Reuse(T),
    /// Open a new connection; it is counted as open from now on, so call
    /// [`Pool::release`] if opening fails or when it closes.
    Open,
    /// The per-host cap or the total cap is reached: wait for a slot and ask again.
    Full,
}

/// The most a server's `Keep-Alive: timeout` is shortened by, for the time a request takes to
/// reach it and for its timer's granularity (never more than half the timeout).
const SERVER_TIMEOUT_MARGIN: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Idle<T> {
    conn: T,
    /// When it became idle.
    since: Instant,
    /// When it stops being reusable (`None`: the timeout is beyond what `Instant` can hold).
    until: Option<Instant>,
}

impl<T> Idle<T> {
    fn fresh_at(&self, now: Instant) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

#[derive(Debug)]
struct Host<T> {
    /// Idle connections, oldest first.
    idle: Vec<Idle<T>>,
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
    /// Open connections under every key (the sum of the hosts' `open`).
    open: usize,
    /// Idle connections under every key.
    idle: usize,
    /// No idle connection expires before this (`None`: none ever does); a lower bound, so a
    /// sweep falls due at the latest when the earliest idle connection expires.
    sweep_at: Option<Instant>,
}

impl<T> Pool<T> {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Pool {
            config,
            hosts: HashMap::default(),
            open: 0,
            idle: 0,
            sweep_at: None,
        }
    }

    /// The newest idle connection for `key` that has not expired, or permission to open one,
    /// or `Full`. Expired idle connections are dropped on the way (see
    /// [`take_idle`](Self::take_idle)). At the total cap,
    /// the connection idle longest under another key is closed to make room.
    pub fn checkout(&mut self, key: &PoolKey, now: Instant) -> Checkout<T> {
        if let Some(reused) = self.take_idle(key, now) {
            return Checkout::Reuse(reused);
        }
        let open_here = self.hosts.get(key).map_or(0, |h| h.open);
        if self
            .config
            .max_connections_per_host
            .is_some_and(|cap| open_here >= cap)
        {
            return Checkout::Full;
        }
        // `key` has no idle connection now, so one closed for room belongs to another key.
        if self
            .config
            .max_connections
            .is_some_and(|cap| self.open >= cap)
            && !self.close_longest_idle()
        {
            return Checkout::Full;
        }
        // Look up first: the entry API would clone the key (a host name) on every checkout.
        match self.hosts.get_mut(key) {
            Some(host) => host.open += 1,
            None => {
                let host = Host {
                    idle: Vec::new(),
                    open: 1,
                };
                self.hosts.insert(key.clone(), host);
            }
        }
        self.open += 1;
        Checkout::Open
    }

    /// The newest idle connection for `key` that has not expired, if there is one: unlike
    /// [`checkout`](Self::checkout), no slot is counted for a new connection when there is
    /// none. Expired idle connections are dropped on the way, under every key, whenever one
    /// has expired since the last such sweep.
    pub fn take_idle(&mut self, key: &PoolKey, now: Instant) -> Option<T> {
        // Due at the latest when the first idle connection expires, so what is left after
        // it has not expired.
        if self.sweep_at.is_some_and(|at| now >= at) {
            self.evict_expired(now);
        }
        let idle = self.hosts.get_mut(key)?.idle.pop()?;
        self.idle -= 1;
        Some(idle.conn)
    }

    /// Like [`checkout`](Self::checkout) but never reuses: for the retry after a pooled
    /// connection turned out stale. The key's other idle connections are dropped too, since
    /// they idled just as long (the server likely restarted or closed them all).
    pub fn checkout_fresh(&mut self, key: &PoolKey, now: Instant) -> Checkout<T> {
        if let Some(host) = self.hosts.get_mut(key) {
            let dropped = host.idle.len();
            host.idle.clear();
            host.open -= dropped;
            self.open -= dropped;
            self.idle -= dropped;
        }
        self.checkout(key, now)
    }

    /// Returns a reusable connection after its exchange, idle from `now`. If the host already
    /// keeps `max_idle_per_host` idle connections, its oldest is dropped instead; if the pool
    /// keeps `max_idle` in all, the one idle longest under any key is.
    ///
    /// `server_idle_timeout` is how long the server said it keeps the connection open while
    /// idle ([`Connection::server_idle_timeout`](crate::Connection::server_idle_timeout)).
    /// The connection is reused only well within that time: a second (at most half of it)
    /// less, so that a request does not reach the server just as it closes the connection,
    /// an error no retry may mend when the request is not idempotent (undici, Node.js's
    /// client, heeds the hint the same way). With a timeout of 0 the connection is not kept.
    pub fn checkin(
        &mut self,
        key: &PoolKey,
        conn: T,
        now: Instant,
        server_idle_timeout: Option<Duration>,
    ) {
        let Some(host) = self.hosts.get_mut(key) else {
            return; // not counted here (the pool was cleared): just let it close
        };
        let keep = match server_idle_timeout {
            Some(hint) => {
                let keep = hint - SERVER_TIMEOUT_MARGIN.min(hint / 2);
                self.config.idle_timeout.min(keep)
            }
            None => self.config.idle_timeout,
        };
        if keep.is_zero() {
            drop(conn);
            host.open -= 1;
            self.open -= 1;
            if host.open == 0 {
                self.hosts.remove(key);
            }
            return;
        }
        let until = now.checked_add(keep);
        host.idle.push(Idle {
            conn,
            since: now,
            until,
        });
        self.sweep_at = self.sweep_at.into_iter().chain(until).min();
        self.idle += 1;
        if host.idle.len() > self.config.max_idle_per_host {
            host.idle.remove(0);
            host.open -= 1;
            self.open -= 1;
            self.idle -= 1;
        }
        if self.idle > self.config.max_idle {
            self.close_longest_idle();
        }
    }

    /// A busy connection for `key` closed (or failed to open): frees its slot.
    pub fn release(&mut self, key: &PoolKey) {
        if let Some(host) = self.hosts.get_mut(key) {
            if host.open > host.idle.len() {
                host.open -= 1;
                self.open -= 1;
            }
            if host.open == 0 {
                self.hosts.remove(key);
            }
        }
    }

    /// Drops every idle connection that has expired at `now`; returns how many. Checkouts do
    /// this when it is due; a driver may call it on a timer too.
    pub fn evict_expired(&mut self, now: Instant) -> usize {
        let mut evicted = 0;
        let mut sweep_at: Option<Instant> = None;
        for (key, host) in self.hosts.iter_mut() {
            let before = host.idle.len();
            host.idle.retain(|idle| idle.fresh_at(now));
            let gone = before - host.idle.len();
            if gone > 0 {
                log::debug!(
                    "{gone} idle connection(s) to {} closed: idle past their timeout",
                    key.origin
                );
            }
            host.open -= gone;
            evicted += gone;
            sweep_at = host
                .idle
                .iter()
                .filter_map(|idle| idle.until)
                .chain(sweep_at)
                .min();
        }
        self.sweep_at = sweep_at;
        self.open -= evicted;
        self.idle -= evicted;
        self.hosts.retain(|_, h| h.open > 0);
        evicted
    }

    /// The configuration the pool keeps connections by.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// When an idle connection may next expire: the moment for a driver's timer to call
    /// [`evict_expired`](Self::evict_expired). Never later than the first expiry, possibly
    /// earlier (the connection that would have expired first was taken meanwhile); `None`
    /// when no idle connection ever expires (or none is kept).
    pub fn next_sweep(&self) -> Option<Instant> {
        self.sweep_at
    }

    /// Drops every idle connection.
    pub fn clear_idle(&mut self) {
        for host in self.hosts.values_mut() {
            host.open -= host.idle.len();
            host.idle.clear();
        }
        self.open -= self.idle;
        self.idle = 0;
        self.hosts.retain(|_, h| h.open > 0);
    }

    /// Closes the connection that has been idle longest, under any key; `false` when none
    /// is idle.
    fn close_longest_idle(&mut self) -> bool {
        let Some((key, _)) = self
            .hosts
            .iter()
            .filter_map(|(key, host)| host.idle.first().map(|idle| (key, idle.since)))
            .min_by_key(|(_, since)| *since)
        else {
            return false;
        };
        let key = key.clone();
        let host = self.hosts.get_mut(&key).expect("found above");
        host.idle.remove(0);
        host.open -= 1;
        self.open -= 1;
        self.idle -= 1;
        if host.open == 0 {
            self.hosts.remove(&key);
        }
        true
    }

    /// Idle connections kept for `key`.
    pub fn idle_count(&self, key: &PoolKey) -> usize {
        self.hosts.get(key).map_or(0, |h| h.idle.len())
    }

    /// Open connections (busy and idle) for `key`.
    pub fn open_count(&self, key: &PoolKey) -> usize {
        self.hosts.get(key).map_or(0, |h| h.open)
    }

    /// Idle connections kept under every key.
    pub fn idle_total(&self) -> usize {
        self.idle
    }

    /// Open connections (busy and idle) under every key.
    pub fn open_total(&self) -> usize {
        self.open
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::client::origin::Origin;

    /// The connection a checkout hands out for reuse, if any.
    fn reused<T>(checkout: Checkout<T>) -> Option<T> {
        match checkout {
            Checkout::Reuse(conn) => Some(conn),
            Checkout::Open | Checkout::Full => None,
        }
    }

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
            max_connections_per_host: cap,
            ..PoolConfig::default()
        }
    }

    fn totals(max_idle: usize, max_connections: Option<usize>) -> PoolConfig {
        PoolConfig {
            max_idle,
            max_connections,
            ..PoolConfig::default()
        }
    }

    /// The pool's totals agree with its keys' counts, and a key with no open connection
    /// has no entry left behind.
    fn check_totals<T>(pool: &Pool<T>) {
        let open: usize = pool.hosts.values().map(|h| h.open).sum();
        let idle: usize = pool.hosts.values().map(|h| h.idle.len()).sum();
        assert_eq!((pool.open_total(), pool.idle_total()), (open, idle));
        assert!(pool.hosts.values().all(|h| h.open >= h.idle.len()));
        assert!(
            pool.hosts.values().all(|h| h.open > 0),
            "an empty key is kept"
        );
    }

    #[test]
    fn the_pool_answers_with_the_configuration_it_was_made_with() {
        // The async driver's reaper counts a whole idle timeout from this.
        let made = PoolConfig {
            idle_timeout: Duration::from_secs(7),
            ..config(3, Some(5))
        };
        let pool: Pool<&str> = Pool::new(made);
        assert_eq!(*pool.config(), made);
        assert_ne!(*pool.config(), PoolConfig::default());
    }

    #[test]
    fn reuses_newest_first_per_key() {
        let t = crate::test_clock::t0();
        let mut pool = Pool::new(config(4, None));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        pool.checkin(&key(1), "old", t, None);
        pool.checkin(&key(1), "new", t + Duration::from_secs(1), None);
        assert_eq!(
            pool.checkout(&key(2), t),
            Checkout::Open,
            "other keys never share"
        );
        assert_eq!(reused(pool.checkout(&key(1), t)), Some("new"));
        assert_eq!(reused(pool.checkout(&key(1), t)), Some("old"));
        assert_eq!(pool.open_count(&key(1)), 2);
    }

    #[test]
    fn a_checkout_closes_expired_connections_under_every_key_once_due() {
        let s = Duration::from_secs;
        let t = crate::test_clock::t0();
        // Each connection marks its own slot when dropped (its socket closed).
        let closed: std::rc::Rc<[std::cell::Cell<bool>; 3]> = std::rc::Rc::default();
        struct Conn(std::rc::Rc<[std::cell::Cell<bool>; 3]>, usize);
        impl Drop for Conn {
            fn drop(&mut self) {
                self.0[self.1].set(true);
            }
        }
        let closed_now = || closed.iter().map(std::cell::Cell::get).collect::<Vec<_>>();
        let mut pool = Pool::new(PoolConfig::default()); // idle for 90 s at most
        for port in 1..=3 {
            assert!(matches!(pool.checkout(&key(port), t), Checkout::Open));
        }
        pool.checkin(&key(1), Conn(closed.clone(), 0), t, None);
        // The server said 11 s, so this one is kept 10 s: the earliest to expire, though
        // neither the first nor the last one in.
        pool.checkin(&key(3), Conn(closed.clone(), 2), t + s(60), Some(s(11)));
        pool.checkin(&key(2), Conn(closed.clone(), 1), t + s(65), None);

        assert!(pool.take_idle(&key(9), t + s(69)).is_none());
        assert_eq!(closed_now(), [false, false, false], "none due yet");
        assert!(pool.take_idle(&key(9), t + s(70)).is_none());
        assert_eq!(
            closed_now(),
            [false, false, true],
            "another key's, once due"
        );
        assert_eq!(
            pool.sweep_at,
            Some(t + s(90)),
            "the next one due, not every checkout"
        );
        check_totals(&pool);
        assert_eq!(pool.open_count(&key(3)), 0);
        assert!(matches!(pool.checkout(&key(9), t + s(90)), Checkout::Open));
        assert_eq!(closed_now(), [true, false, true]);
        check_totals(&pool);
        assert_eq!(
            (pool.open_total(), pool.idle_total()),
            (2, 1),
            "key 2's idle one and key 9's new one"
        );
        assert!(pool.take_idle(&key(9), t + s(154)).is_none());
        assert_eq!(closed_now(), [true, false, true]);
        assert!(pool.take_idle(&key(9), t + s(155)).is_none());
        assert_eq!(closed_now(), [true, true, true]);
        assert_eq!((pool.idle_total(), pool.sweep_at), (0, None));
        check_totals(&pool);
    }

    #[test]
    fn expired_idle_connections_are_dropped() {
        let t = crate::test_clock::t0();
        let mut pool = Pool::new(config(4, None));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        pool.checkin(&key(1), "a", t, None);
        assert_eq!(
            pool.checkout(&key(1), t + Duration::from_secs(90)),
            Checkout::Open
        );
        assert_eq!(
            pool.open_count(&key(1)),
            1,
            "the expired one no longer counts"
        );
        pool.checkin(&key(1), "b", t, None);
        assert_eq!(pool.evict_expired(t + Duration::from_secs(89)), 0);
        assert_eq!(pool.evict_expired(t + Duration::from_secs(91)), 1);
        assert_eq!(pool.open_count(&key(1)), 0);
    }

    #[test]
    fn the_next_sweep_is_due_when_the_first_idle_connection_expires() {
        let t = crate::test_clock::t0();
        let secs = Duration::from_secs;
        let mut pool = Pool::new(config(4, None));
        assert_eq!(pool.next_sweep(), None, "nothing idle");
        for (n, since) in [(1, t + secs(5)), (2, t)] {
            assert_eq!(pool.checkout(&key(n), since), Checkout::Open);
            pool.checkin(&key(n), "a", since, None);
        }
        // The server's Keep-Alive timeout, when shorter, is the connection's (less a margin
        // of a second).
        assert_eq!(pool.checkout(&key(3), t), Checkout::Open);
        pool.checkin(&key(3), "c", t + secs(1), Some(secs(30)));
        assert_eq!(pool.next_sweep(), Some(t + secs(30)));
        assert_eq!(pool.evict_expired(t + secs(30)), 1);
        assert_eq!(pool.next_sweep(), Some(t + secs(90)));
        assert_eq!(pool.evict_expired(t + secs(90)), 1);
        assert_eq!(pool.next_sweep(), Some(t + secs(95)));
        assert_eq!(pool.evict_expired(t + secs(95)), 1);
        assert_eq!(pool.next_sweep(), None, "nothing left to expire");
    }

    #[test]
    fn idle_for_the_whole_timeout_is_expired() {
        let t = crate::test_clock::t0();
        let timeout = Duration::from_secs(90);
        let mut pool = Pool::new(config(4, None));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        pool.checkin(&key(1), "a", t, None);
        let just_before = t + timeout - Duration::from_nanos(1);
        assert_eq!(pool.take_idle(&key(1), just_before), Some("a"));
        pool.checkin(&key(1), "a", t, None);
        assert_eq!(pool.take_idle(&key(1), t + timeout), None);
        // Idle "since" a time after now (a clock read out of order) is not expired.
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        pool.checkin(&key(1), "b", t + Duration::from_secs(1), None);
        assert_eq!(pool.take_idle(&key(1), t), Some("b"));
    }

    #[test]
    fn the_servers_keep_alive_timeout_less_a_margin_bounds_reuse() {
        let t = crate::test_clock::t0();
        let ms = Duration::from_millis;
        // (the server's timeout, still reused at, no longer reused at)
        let cases = [
            (Duration::from_secs(5), ms(3_999), ms(4_000)), // a second less
            (Duration::from_secs(1), ms(499), ms(500)),     // at most half less
            (Duration::from_secs(2), ms(999), ms(1_000)),
            (Duration::from_secs(600), ms(89_999), ms(90_000)), // the client's own 90 s rule
        ];
        for (hint, reused, expired) in cases {
            let mut pool = Pool::new(config(4, None));
            assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
            pool.checkin(&key(1), "a", t, Some(hint));
            assert_eq!(pool.take_idle(&key(1), t + reused), Some("a"), "{hint:?}");
            pool.checkin(&key(1), "a", t, Some(hint));
            assert_eq!(pool.take_idle(&key(1), t + expired), None, "{hint:?}");
            assert_eq!(pool.open_count(&key(1)), 0, "{hint:?}");
            check_totals(&pool);
        }
        // A timeout of 0: the server closes at once; the connection is not kept.
        let mut pool = Pool::new(config(4, None));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        pool.checkin(&key(1), "a", t, Some(Duration::ZERO));
        assert_eq!((pool.idle_count(&key(1)), pool.open_count(&key(1))), (0, 1));
        pool.checkin(&key(1), "b", t, Some(Duration::ZERO));
        assert_eq!(pool.open_total(), 0);
        check_totals(&pool);
        // Each connection keeps its own server's word; the newest fresh one is reused.
        let mut pool = Pool::new(config(4, None));
        for _ in 0..2 {
            assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        }
        pool.checkin(&key(1), "long", t, None);
        pool.checkin(&key(1), "short", t, Some(Duration::from_secs(2)));
        assert_eq!(pool.evict_expired(t + ms(1_500)), 1);
        assert_eq!(pool.take_idle(&key(1), t + ms(1_500)), Some("long"));
        check_totals(&pool);
    }

    #[test]
    fn idle_cap_drops_the_oldest() {
        let t = crate::test_clock::t0();
        let mut pool = Pool::new(config(1, None));
        for _ in 0..2 {
            assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        }
        pool.checkin(&key(1), "a", t, None);
        pool.checkin(&key(1), "b", t, None);
        assert_eq!((pool.idle_count(&key(1)), pool.open_count(&key(1))), (1, 1));
        assert_eq!((pool.idle_total(), pool.open_total()), (1, 1));
        check_totals(&pool);
        assert_eq!(reused(pool.checkout(&key(1), t)), Some("b"));
        let mut none = Pool::new(config(0, None));
        assert_eq!(none.checkout(&key(1), t), Checkout::<&str>::Open);
        none.checkin(&key(1), "a", t, None);
        assert_eq!(none.open_count(&key(1)), 0, "max_idle 0 disables reuse");
    }

    #[test]
    fn per_host_cap() {
        let t = crate::test_clock::t0();
        let mut pool = Pool::new(config(4, Some(2)));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(1), t), Checkout::Full);
        assert_eq!(pool.checkout(&key(2), t), Checkout::Open);
        pool.release(&key(1));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        pool.checkin(&key(1), "x", t, None);
        assert_eq!(
            reused(pool.checkout(&key(1), t)),
            Some("x"),
            "an idle one is reused even at the cap"
        );
        pool.clear_idle();
        assert_eq!(pool.open_count(&key(1)), 2);
    }

    #[test]
    fn take_idle_reserves_nothing() {
        let t = crate::test_clock::t0();
        let mut pool = Pool::new(config(4, Some(2)));
        assert_eq!(pool.take_idle(&key(1), t), None, "an unknown key has none");
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.take_idle(&key(1), t), None, "both open ones are busy");
        assert_eq!(pool.open_count(&key(1)), 2, "and no slot was counted");
        pool.checkin(&key(1), "a", t, None);
        pool.checkin(&key(1), "b", t + Duration::from_secs(1), None);
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
        let t = crate::test_clock::t0();
        let mut pool = Pool::new(config(4, None));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        pool.checkin(&key(1), "a", t, None);
        assert_eq!(pool.checkout_fresh(&key(1), t), Checkout::Open);
        assert_eq!((pool.idle_count(&key(1)), pool.open_count(&key(1))), (0, 2));
    }

    #[test]
    fn the_total_idle_cap_closes_the_one_idle_longest_under_any_key() {
        let t = crate::test_clock::t0();
        let mut pool = Pool::new(totals(2, None));
        for k in 1..=3 {
            assert_eq!(pool.checkout(&key(k), t), Checkout::Open);
        }
        pool.checkin(&key(2), "b", t, None);
        pool.checkin(&key(1), "a", t + Duration::from_secs(1), None);
        pool.checkin(&key(3), "c", t + Duration::from_secs(2), None);
        check_totals(&pool);
        assert_eq!((pool.idle_total(), pool.open_total()), (2, 2));
        assert_eq!(
            pool.open_count(&key(2)),
            0,
            "\"b\" idled longest and was closed"
        );
        assert_eq!(reused(pool.checkout(&key(1), t)), Some("a"));
        assert_eq!(reused(pool.checkout(&key(3), t)), Some("c"));
        check_totals(&pool);
        let mut none = Pool::new(totals(0, None));
        assert_eq!(none.checkout(&key(1), t), Checkout::<&str>::Open);
        none.checkin(&key(1), "a", t, None);
        assert_eq!(none.open_total(), 0, "max_idle 0 disables reuse");
        check_totals(&none);
    }

    #[test]
    fn at_the_total_cap_an_idle_connection_elsewhere_makes_room() {
        let t = crate::test_clock::t0();
        let mut pool = Pool::new(totals(16, Some(2)));
        assert_eq!(pool.checkout(&key(1), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(2), t), Checkout::Open);
        assert_eq!(pool.checkout(&key(3), t), Checkout::Full, "both are busy");
        pool.checkin(&key(2), "b", t, None);
        assert_eq!(
            pool.checkout(&key(1), t),
            Checkout::Open,
            "the idle one under key 2 was closed for it"
        );
        assert_eq!((pool.open_total(), pool.idle_total()), (2, 0));
        assert_eq!(pool.open_count(&key(2)), 0);
        assert_eq!(pool.checkout(&key(3), t), Checkout::Full);
        pool.release(&key(1));
        assert_eq!(pool.checkout(&key(3), t), Checkout::Open);
        pool.checkin(&key(3), "c", t, None);
        assert_eq!(
            reused(pool.checkout(&key(3), t)),
            Some("c"),
            "a key's own idle connection is reused at the cap"
        );
        check_totals(&pool);
    }

    #[test]
    fn totals_stay_true_through_every_path() {
        let t = crate::test_clock::t0();
        let later = t + Duration::from_secs(91);
        let mut pool = Pool::new(PoolConfig {
            max_idle_per_host: 2,
            max_idle: 3,
            max_connections: Some(5),
            max_connections_per_host: Some(3),
            ..PoolConfig::default()
        });
        for round in 0..3u32 {
            let now = t + Duration::from_secs(u64::from(round) * 40);
            let mut out = Vec::new();
            for k in [1, 1, 2, 3, 1, 2, 4] {
                if let Checkout::Reuse(_) | Checkout::Open = pool.checkout(&key(k), now) {
                    out.push(k);
                }
                check_totals(&pool);
            }
            for (i, k) in out.into_iter().enumerate() {
                if i % 3 == 0 {
                    pool.release(&key(k));
                } else {
                    pool.checkin(&key(k), i, now, None);
                }
                check_totals(&pool);
            }
            assert!(pool.idle_total() <= 3 && pool.open_total() <= 5);
            let _ = pool.take_idle(&key(1), now);
            pool.release(&key(1));
            check_totals(&pool);
            let _ = pool.checkout_fresh(&key(2), now);
            check_totals(&pool);
        }
        pool.evict_expired(later + Duration::from_secs(80));
        check_totals(&pool);
        pool.clear_idle();
        check_totals(&pool);
        assert_eq!(pool.idle_total(), 0);
    }

    #[test]
    fn dropping_idle_connections_keeps_the_busy_ones_counted() {
        let t = crate::test_clock::t0();
        let s = Duration::from_secs;
        let mut pool = Pool::new(totals(16, None));
        // Key 1: one busy, one idle. Key 2: one idle. Key 3: one busy.
        for k in [1, 1, 2, 3] {
            assert_eq!(pool.checkout(&key(k), t), Checkout::Open);
        }
        pool.checkin(&key(1), "a", t, None);
        pool.checkin(&key(2), "b", t + s(1), None);

        // Releasing a key whose open connections are all idle frees nothing.
        pool.release(&key(2));
        assert_eq!((pool.idle_count(&key(2)), pool.open_count(&key(2))), (1, 1));
        check_totals(&pool);

        pool.clear_idle();
        assert_eq!((pool.idle_total(), pool.open_total()), (0, 2));
        assert_eq!((pool.idle_count(&key(1)), pool.open_count(&key(1))), (0, 1));
        assert_eq!(pool.open_count(&key(2)), 0);
        assert!(!pool.hosts.contains_key(&key(2)), "key 2 is gone");
        check_totals(&pool);

        // The one idle longest goes at the idle cap; its key keeps its busy connection.
        let mut pool = Pool::new(totals(1, None));
        for k in [1, 1, 2] {
            assert_eq!(pool.checkout(&key(k), t), Checkout::Open);
        }
        pool.checkin(&key(1), "a", t, None);
        pool.checkin(&key(2), "b", t + s(1), None);
        assert_eq!((pool.idle_count(&key(1)), pool.open_count(&key(1))), (0, 1));
        assert_eq!(reused(pool.checkout(&key(2), t + s(2))), Some("b"));
        check_totals(&pool);

        // Expiry, by eviction or on the way to a reuse, takes empty keys with it.
        let mut pool = Pool::new(totals(16, None));
        for k in [1, 2, 3] {
            assert_eq!(pool.checkout(&key(k), t), Checkout::Open);
            pool.checkin(&key(k), "x", t + s(k.into()), None);
        }
        assert_eq!(pool.take_idle(&key(1), t + s(91)), None);
        assert!(!pool.hosts.contains_key(&key(1)));
        check_totals(&pool);
        assert_eq!(pool.evict_expired(t + s(92)), 1);
        assert_eq!(pool.hosts.len(), 1, "key 3's is left");
        check_totals(&pool);
    }
}
