//! The shared pool of idle connections: duet-core's [`Pool`] policy behind a lock, plus the
//! waiting that a per-host cap needs.
//!
//! The lock is a `std::sync::Mutex`, held only for the pool's bookkeeping and never across an
//! `.await`; a task waiting for a free slot waits on a [`Notify`].

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use duet_core::Connection;
use duet_core::client::{Checkout, ConnectTo, Error, Pool, PoolConfig, PoolKey, TimeoutPhase};
use tokio::sync::Notify;

use crate::transport::Stream;

/// A connection at rest: the engine's state and its socket.
#[derive(Debug)]
pub(crate) struct Idle {
    pub conn: Box<Connection>,
    pub stream: Stream,
    pub remote: Option<SocketAddr>,
    /// Where the connection's bytes are recorded, when the client records.
    pub recording: Option<duet_core::transport::ConnectionRecorder>,
}

/// What [`ConnectionPool::acquire`] found.
pub(crate) enum Acquired {
    /// An idle connection to reuse.
    Reuse(Idle),
    /// A slot for a new connection (release it if connecting fails).
    Open,
}

#[derive(Debug)]
pub(crate) struct ConnectionPool {
    pool: Mutex<Pool<Idle>>,
    freed: Notify,
}

impl ConnectionPool {
    pub fn new(config: PoolConfig) -> Self {
        ConnectionPool {
            pool: Mutex::new(Pool::new(config)),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pool<Idle>> {
        self.pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle connection for `to.key` that still looks usable, or a slot to open one; waits
    /// while the per-host cap is reached, until `to.pool_deadline`.
    pub async fn acquire(
        &self,
        to: &ConnectTo,
        pool_timeout: Option<std::time::Duration>,
    ) -> Result<Acquired, Error> {
        loop {
            // Listen before looking, so a slot freed in between is not missed.
            let mut freed = pin!(self.freed.notified());
            freed.as_mut().enable();
            let now = crate::now();
            {
                let mut pool = self.lock();
                let checkout = if to.fresh {
                    pool.checkout_fresh(&to.key, now)
                } else {
                    pool.checkout(&to.key, now)
                };
                match checkout {
                    Checkout::Reuse(idle) if idle.stream.is_quiet() => {
                        return Ok(Acquired::Reuse(idle));
                    }
                    Checkout::Reuse(_) => {
                        pool.release(&to.key); // closed or chatty while idle: drop it
                        continue;
                    }
                    Checkout::Open => return Ok(Acquired::Open),
                    Checkout::Full => {}
                }
            }
            let timed_out = || Error::timeout(TimeoutPhase::Pool, pool_timeout);
            match to.pool_deadline {
                None => freed.await,
                Some(deadline) => {
                    if deadline <= now {
                        return Err(timed_out());
                    }
                    tokio::time::timeout_at(deadline.into(), freed)
                        .await
                        .map_err(|_elapsed| timed_out())?;
                }
            }
        }
    }

    /// An idle connection for `to.key` that still looks usable, taken at once: no waiting,
    /// and no slot counted when there is none (then [`acquire`](Self::acquire) decides).
    pub fn take_idle(&self, to: &ConnectTo, now: Instant) -> Option<Idle> {
        if to.fresh {
            return None;
        }
        let mut pool = self.lock();
        while let Some(idle) = pool.take_idle(&to.key, now) {
            if idle.stream.is_quiet() {
                return Some(idle);
            }
            pool.release(&to.key); // closed or chatty while idle: drop it
        }
        None
    }

    /// Returns a reusable connection, idle from `now`.
    pub fn checkin(&self, key: &PoolKey, idle: Idle, now: Instant) {
        self.lock().checkin(key, idle, now);
        self.freed.notify_one();
    }

    /// A connection from `key`'s slot closed.
    pub fn release(&self, key: &PoolKey) {
        self.lock().release(key);
        self.freed.notify_one();
    }
}
