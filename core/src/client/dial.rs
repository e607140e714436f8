//! Opening a TCP connection to a host that has several addresses: which addresses a name
//! stands for when the caller fixed them ([`DialConfig::overrides`]), the order they are tried
//! in, and when the next attempt starts beside one still under way (Happy Eyeballs, RFC 8305).
//!
//! The drivers resolve names and open sockets; [`Dial`] tells them which address to try and
//! when, so a host whose first address never answers (an IPv6 route that goes nowhere, a
//! dead replica) costs a quarter of a second, not the whole connect timeout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::error::{Error, ErrorKind};

/// How connections are opened: fixed addresses for names, the delay between attempts, the
/// local address to connect from, TCP keep-alive and socket buffer sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialConfig {
    /// Addresses to use for a host name instead of asking the resolver (curl's `--resolve`,
    /// reqwest's `resolve`): the name, lower-cased, the port they are for (`None`: any), and
    /// the addresses in order. An address with port 0 is used with the port being connected
    /// to; any other port is used as it is. One for the port connected to wins over one for
    /// any port.
    pub overrides: Vec<(String, Option<u16>, Vec<SocketAddr>)>,
    /// How long an attempt runs alone before the next address is tried beside it (RFC 8305's
    /// "Connection Attempt Delay"). Default 250 ms.
    pub attempt_delay: Duration,
    /// The local address every connection is made from (reqwest's `local_address`, curl's
    /// `--interface` with an address); only a host's addresses of its family are tried.
    /// Default `None`: the system chooses.
    pub local_address: Option<IpAddr>,
    /// The network interface every connection is bound to (reqwest's `interface`, curl's
    /// `--interface` with a name), by name: its packets leave through it whatever the routes
    /// say. Linux only (`SO_BINDTODEVICE`); elsewhere connecting fails. Default `None`.
    pub interface: Option<String>,
    /// TCP keep-alive on every connection, the first probe after the connection has been
    /// idle this long (reqwest's `tcp_keepalive`, curl's `--keepalive-time`); the socket gets
    /// it as [`keepalive_idle`](Self::keepalive_idle) says. Default `None`: off, as the
    /// system leaves it.
    pub tcp_keepalive: Option<Duration>,
    /// The size asked of the kernel for every connection's send buffer (`SO_SNDBUF`, set
    /// before connecting; hyper's `set_send_buffer_size`). Linux doubles it for its own
    /// bookkeeping and turns off its automatic sizing. Default `None`: the system's.
    pub send_buffer_size: Option<usize>,
    /// The same for the receive buffer (`SO_RCVBUF`, set before connecting so that the
    /// window offered in the handshake fits it). Default `None`: the system's.
    pub recv_buffer_size: Option<usize>,
}

/// Whether `name` can name a network interface (for `ClientBuilder::interface`): 1 to 15
/// bytes (Linux's `IFNAMSIZ` less its NUL), with no NUL, `/` or white space.
pub fn is_interface_name(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && !name
            .bytes()
            .any(|b| b == 0 || b == b'/' || b.is_ascii_whitespace())
}

/// The longest keep-alive idle time Linux takes (`MAX_TCP_KEEPIDLE`), about 9 hours.
const MAX_KEEPALIVE_IDLE: u64 = 32_767;

/// RFC 8305 §8 recommends 250 ms.
const DEFAULT_ATTEMPT_DELAY: Duration = Duration::from_millis(250);

impl Default for DialConfig {
    fn default() -> Self {
        DialConfig {
            overrides: Vec::new(),
            attempt_delay: DEFAULT_ATTEMPT_DELAY,
            local_address: None,
            interface: None,
            tcp_keepalive: None,
            send_buffer_size: None,
            recv_buffer_size: None,
        }
    }
}

impl DialConfig {
    /// The keep-alive idle time a socket is given for
    /// [`tcp_keepalive`](Self::tcp_keepalive): in whole seconds, the unit the systems take,
    /// rounded up, and from 1 s to 32,767 s. Linux refuses 0 and anything longer (which
    /// would fail every connection), so a shorter time is 1 s and a longer one that.
    pub fn keepalive_idle(&self) -> Option<Duration> {
        self.tcp_keepalive.map(|idle| {
            let secs = idle
                .as_secs()
                .saturating_add(u64::from(idle.subsec_nanos() > 0));
            Duration::from_secs(secs.clamp(1, MAX_KEEPALIVE_IDLE))
        })
    }

    /// Uses `addrs` for `host` at any port from now on (replacing what an earlier call gave
    /// it).
    pub fn add_override(&mut self, host: &str, addrs: Vec<SocketAddr>) {
        self.set_override(host, None, addrs);
    }

    /// Uses `addrs` for `host` when connecting to `port` only (curl's `--resolve`), from now
    /// on (replacing what an earlier call gave that host and port).
    pub fn add_port_override(&mut self, host: &str, port: u16, addrs: &[std::net::IpAddr]) {
        let addrs = addrs.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
        self.set_override(host, Some(port), addrs);
    }

    fn set_override(&mut self, host: &str, port: Option<u16>, addrs: Vec<SocketAddr>) {
        let host = host.to_ascii_lowercase();
        self.overrides
            .retain(|(name, for_port, _)| (name, *for_port) != (&host, port));
        self.overrides.push((host, port, addrs));
    }

    /// The addresses to try for `host` out of those it stands for (`addrs`): with a local
    /// address, those of its family. A connect error when none is left.
    pub fn candidates(
        &self,
        host: &str,
        mut addrs: Vec<SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Error> {
        let found = !addrs.is_empty();
        if let Some(local) = self.local_address {
            addrs.retain(|addr| addr.is_ipv4() == local.is_ipv4());
        }
        match (addrs.is_empty(), found, self.local_address) {
            (false, _, _) => Ok(addrs),
            (true, true, Some(local)) => {
                let family = if local.is_ipv4() { "IPv4" } else { "IPv6" };
                let message = format!(
                    "no {family} address found for {host}, to connect from the local address {local}"
                );
                Err(Error::msg(ErrorKind::Connect, message))
            }
            (true, _, _) => {
                let message = format!("no address found for {host}");
                Err(Error::msg(ErrorKind::Connect, message))
            }
        }
    }

    /// The addresses fixed for `host` (connecting to `port`), if any; `None` means: ask the
    /// resolver (the system's, or the caller's own).
    ///
    /// Besides the caller's [`overrides`](Self::overrides), an IP address stands for itself,
    /// and `localhost` and every name under it (`app.localhost`) stand for the loopback
    /// addresses, `::1` then `127.0.0.1`, without asking the resolver (RFC 6761 §6.3; as curl
    /// and browsers do): such a name reaches a local server however the system's hosts file
    /// reads, and never leaves the machine as a DNS query.
    pub fn fixed_addrs(&self, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        if let Some(addrs) = self.overridden(host, port) {
            return Some(addrs);
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some(vec![SocketAddr::new(ip, port)]);
        }
        is_localhost(host).then(|| {
            vec![
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
            ]
        })
    }

    /// The one address a `socks5://` proxy is given for `host` (the client resolves the name
    /// and the proxy takes an address), out of those `host` stands for (`addrs`): the first,
    /// except that a `localhost` name, which stands for both loopback addresses, is given as
    /// `127.0.0.1`, the one a proxy is sure to serve. A connect error when there is none.
    pub fn socks_address(&self, host: &str, addrs: &[SocketAddr]) -> Result<IpAddr, Error> {
        let loopback = is_localhost(host)
            .then(|| addrs.iter().find(|addr| addr.ip() == Ipv4Addr::LOCALHOST))
            .flatten();
        match loopback.or(addrs.first()) {
            Some(addr) => Ok(addr.ip()),
            None => Err(Error::msg(
                ErrorKind::Connect,
                format!("no address found for {host}"),
            )),
        }
    }

    /// The addresses the caller fixed for `host` (connecting to `port`), if any.
    fn overridden(&self, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        if self.overrides.is_empty() {
            return None;
        }
        let named = |for_port: Option<u16>| {
            self.overrides
                .iter()
                .find(|(name, at, _)| *at == for_port && name.eq_ignore_ascii_case(host))
        };
        let (_, _, addrs) = named(Some(port)).or_else(|| named(None))?;
        Some(
            addrs
                .iter()
                .map(|addr| match addr.port() {
                    0 => SocketAddr::new(addr.ip(), port),
                    _ => *addr,
                })
                .collect(),
        )
    }
}

/// Whether `name` is `localhost` or a name under it (RFC 6761 §6.3), in any case, with or
/// without the root's trailing dot.
pub(crate) fn is_localhost(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name).as_bytes();
    let suffix = b".localhost";
    name.eq_ignore_ascii_case(&suffix[1..])
        || (name.len() > suffix.len()
            && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix))
}

/// What the driver does next while connecting; see [`Dial::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialStep {
    /// Start a connection attempt to this address (beside any still under way), then poll
    /// again.
    Start(SocketAddr),
    /// Wait for an attempt under way to finish, or until this time if one is given, then poll
    /// again. The first attempt that succeeds is the connection: drop the others.
    Wait(Option<Instant>),
    /// Every address was tried and every attempt failed: report the last failure.
    Exhausted,
}

/// The schedule of connection attempts to one host's addresses (RFC 8305 §4-5): address
/// families interleaved, one attempt at a time until an attempt has run for the attempt
/// delay or failed, then the next beside it. Pure: the driver passes the time in.
#[derive(Debug, Clone)]
pub struct Dial {
    addrs: Vec<SocketAddr>,
    /// The next address to try.
    next: usize,
    /// Attempts started and not yet failed.
    running: usize,
    /// When the next attempt may start although others are still under way.
    next_at: Option<Instant>,
    delay: Duration,
}

impl Dial {
    /// A schedule for `addrs` as the resolver gave them, with `delay` between attempts.
    pub fn new(addrs: Vec<SocketAddr>, delay: Duration) -> Self {
        Dial {
            addrs: interleave(addrs),
            next: 0,
            running: 0,
            next_at: None,
            delay,
        }
    }

    /// The addresses in the order they are tried.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// What to do at `now`.
    pub fn poll(&mut self, now: Instant) -> DialStep {
        let more = self.next < self.addrs.len();
        if more && (self.running == 0 || self.next_at.is_some_and(|at| now >= at)) {
            let addr = self.addrs[self.next];
            self.next += 1;
            self.running += 1;
            self.next_at = Some(now.checked_add(self.delay).unwrap_or(now));
            return DialStep::Start(addr);
        }
        match (self.running, more) {
            (0, _) => DialStep::Exhausted,
            (_, true) => DialStep::Wait(self.next_at),
            (_, false) => DialStep::Wait(None),
        }
    }

    /// An attempt started by [`poll`](Self::poll) failed at `now`: the next address is tried
    /// at once (RFC 8305 §5), without waiting out the delay.
    pub fn failed(&mut self, now: Instant) {
        self.running = self.running.saturating_sub(1);
        self.next_at = Some(now);
    }
}

/// RFC 8305 §4: alternate the address families, starting with the family of the first
/// address (the resolver's preference); within a family, the resolver's order is kept.
fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return addrs;
    };
    let first_v6 = first.is_ipv6();
    let (preferred, other): (Vec<SocketAddr>, Vec<SocketAddr>) =
        addrs.iter().copied().partition(|a| a.is_ipv6() == first_v6);
    if other.is_empty() {
        return addrs;
    }
    let mut out = Vec::with_capacity(addrs.len());
    let (mut p, mut o) = (preferred.into_iter(), other.into_iter());
    loop {
        match (p.next(), o.next()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(last: u8) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, last], 80))
    }

    fn v6(last: u16) -> SocketAddr {
        SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, last], 80))
    }

    const DELAY: Duration = Duration::from_millis(250);

    #[test]
    fn the_keepalive_idle_time_is_whole_seconds_the_system_takes() {
        let idle = |given: Option<Duration>| {
            DialConfig {
                tcp_keepalive: given,
                ..DialConfig::default()
            }
            .keepalive_idle()
        };
        assert_eq!(idle(None), None);
        for (given, taken) in [
            (Duration::from_secs(42), 42),
            (Duration::ZERO, 1),
            (Duration::from_millis(1), 1),
            (Duration::from_millis(1_500), 2),
            (Duration::from_nanos(2_000_000_001), 3),
            (Duration::from_secs(32_767), 32_767),
            (Duration::from_secs(32_768), 32_767),
            (Duration::MAX, 32_767),
        ] {
            assert_eq!(
                idle(Some(given)),
                Some(Duration::from_secs(taken)),
                "{given:?}"
            );
        }
    }

    /// The origin of the injected clock.
    fn origin() -> Instant {
        crate::test_clock::t0()
    }

    #[test]
    fn families_alternate_from_the_first_addresss_family() {
        let dial = Dial::new(vec![v6(1), v6(2), v6(3), v4(1), v4(2)], DELAY);
        assert_eq!(dial.addrs(), [v6(1), v4(1), v6(2), v4(2), v6(3)]);
        let dial = Dial::new(vec![v4(1), v6(1), v6(2)], DELAY);
        assert_eq!(dial.addrs(), [v4(1), v6(1), v6(2)]);
        let dial = Dial::new(vec![v4(2), v4(1)], DELAY);
        assert_eq!(
            dial.addrs(),
            [v4(2), v4(1)],
            "one family keeps the resolver's order"
        );
    }

    #[test]
    fn the_next_attempt_starts_after_the_delay_beside_the_first() {
        let t0 = origin();
        let mut dial = Dial::new(vec![v6(1), v4(1), v6(2)], DELAY);
        assert_eq!(dial.poll(t0), DialStep::Start(v6(1)));
        assert_eq!(dial.poll(t0), DialStep::Wait(Some(t0 + DELAY)));
        assert_eq!(dial.poll(t0 + DELAY / 2), DialStep::Wait(Some(t0 + DELAY)));
        assert_eq!(dial.poll(t0 + DELAY), DialStep::Start(v4(1)));
        let t1 = t0 + DELAY;
        assert_eq!(dial.poll(t1), DialStep::Wait(Some(t1 + DELAY)));
        assert_eq!(dial.poll(t1 + DELAY), DialStep::Start(v6(2)));
        // Nothing left to start: wait for one of the three, with no time to come back.
        assert_eq!(dial.poll(t1 + DELAY), DialStep::Wait(None));
    }

    #[test]
    fn a_failure_starts_the_next_attempt_at_once() {
        let t0 = origin();
        let mut dial = Dial::new(vec![v4(1), v4(2), v4(3)], DELAY);
        assert_eq!(dial.poll(t0), DialStep::Start(v4(1)));
        let t1 = t0 + Duration::from_millis(10);
        dial.failed(t1);
        assert_eq!(dial.poll(t1), DialStep::Start(v4(2)));
        assert_eq!(dial.poll(t1), DialStep::Wait(Some(t1 + DELAY)));
        // v4(2) still runs when v4(3) starts after the delay; then both fail.
        assert_eq!(dial.poll(t1 + DELAY), DialStep::Start(v4(3)));
        dial.failed(t1 + DELAY);
        assert_eq!(dial.poll(t1 + DELAY), DialStep::Wait(None));
        dial.failed(t1 + DELAY);
        assert_eq!(dial.poll(t1 + DELAY), DialStep::Exhausted);
    }

    #[test]
    fn a_failure_beside_a_hanging_attempt_starts_the_next_without_the_delay() {
        let t0 = origin();
        let mut dial = Dial::new(vec![v4(1), v4(2), v4(3)], DELAY);
        assert_eq!(dial.poll(t0), DialStep::Start(v4(1)));
        assert_eq!(dial.poll(t0 + DELAY), DialStep::Start(v4(2)));
        // v4(2) is refused soon after; v4(1) still hangs.
        let t1 = t0 + DELAY + Duration::from_millis(1);
        dial.failed(t1);
        assert_eq!(dial.poll(t1), DialStep::Start(v4(3)));
        assert_eq!(dial.poll(t1), DialStep::Wait(None));
    }

    #[test]
    fn no_addresses_is_exhausted_at_once() {
        let mut dial = Dial::new(Vec::new(), DELAY);
        assert_eq!(dial.poll(origin()), DialStep::Exhausted);
    }

    #[test]
    fn a_local_address_keeps_the_addresses_of_its_family() {
        let mut config = DialConfig::default();
        let mixed = vec![v6(1), v4(1), v6(2), v4(2)];
        assert_eq!(config.candidates("h", mixed.clone()).unwrap(), mixed);
        config.local_address = Some("192.0.2.100".parse().unwrap());
        assert_eq!(
            config.candidates("h", mixed.clone()).unwrap(),
            [v4(1), v4(2)]
        );
        config.local_address = Some("2001:db8::100".parse().unwrap());
        assert_eq!(config.candidates("h", mixed).unwrap(), [v6(1), v6(2)]);
        let err = config.candidates("h.example", vec![v4(1)]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect);
        assert!(
            err.to_string()
                .contains("no IPv6 address found for h.example"),
            "{err}"
        );
    }

    #[test]
    fn a_host_with_no_address_is_a_connect_error() {
        let err = DialConfig::default()
            .candidates("h.example", Vec::new())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect);
        assert!(
            err.to_string().contains("no address found for h.example"),
            "{err}"
        );
    }

    #[test]
    fn overrides_match_names_in_any_case_and_fill_in_port_zero() {
        let mut config = DialConfig::default();
        assert_eq!(config.fixed_addrs("example.com", 80), None);
        let fixed: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let with_port: SocketAddr = "127.0.0.2:8080".parse().unwrap();
        config.add_override("Example.COM", vec![fixed, with_port]);
        assert_eq!(
            config.fixed_addrs("example.com", 443),
            Some(vec!["127.0.0.1:443".parse().unwrap(), with_port])
        );
        assert_eq!(config.fixed_addrs("other.example", 443), None);
        config.add_override("example.com", vec![with_port]);
        assert_eq!(config.fixed_addrs("EXAMPLE.com", 1), Some(vec![with_port]));
        assert_eq!(
            config.overrides.len(),
            1,
            "a second call replaces the first"
        );
    }

    #[test]
    fn an_ip_address_stands_for_itself_unless_overridden() {
        let mut config = DialConfig::default();
        for (host, addr) in [("127.0.0.2", "127.0.0.2:3000"), ("::1", "[::1]:3000")] {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(config.fixed_addrs(host, 3000), Some(vec![addr]), "{host}");
        }
        let elsewhere: SocketAddr = "127.0.0.9:0".parse().unwrap();
        config.add_override("127.0.0.2", vec![elsewhere]);
        let fixed: SocketAddr = "127.0.0.9:3000".parse().unwrap();
        assert_eq!(config.fixed_addrs("127.0.0.2", 3000), Some(vec![fixed]));
        assert_eq!(config.fixed_addrs("example.com", 3000), None);
    }

    #[test]
    fn localhost_names_are_the_loopback_addresses_unless_overridden() {
        let mut config = DialConfig::default();
        let loopback: Vec<SocketAddr> = vec![
            "[::1]:3000".parse().unwrap(),
            "127.0.0.1:3000".parse().unwrap(),
        ];
        for name in [
            "localhost",
            "LocalHost",
            "localhost.",
            "app.localhost",
            "a.b.LOCALHOST.",
        ] {
            assert_eq!(
                config.fixed_addrs(name, 3000),
                Some(loopback.clone()),
                "{name:?}"
            );
        }
        for name in [
            "localhost.example",
            "mylocalhost",
            "notlocalhost",
            ".localhost",
            "localhost..",
            "example.com",
        ] {
            assert_eq!(config.fixed_addrs(name, 3000), None, "{name:?}");
        }
        let ip = |a: &str| a.parse::<IpAddr>().unwrap();
        assert_eq!(
            config.socks_address("app.localhost", &loopback).unwrap(),
            ip("127.0.0.1")
        );
        let v6_first: Vec<SocketAddr> = vec![
            "[2001:db8::1]:80".parse().unwrap(),
            "192.0.2.1:80".parse().unwrap(),
        ];
        assert_eq!(
            config.socks_address("example.com", &v6_first).unwrap(),
            ip("2001:db8::1")
        );
        assert!(
            config
                .socks_address("example.com", &[])
                .unwrap_err()
                .is_connect()
        );
        let fixed: SocketAddr = "127.0.0.2:3000".parse().unwrap();
        config.add_override("app.localhost", vec![fixed]);
        assert_eq!(config.fixed_addrs("app.localhost", 3000), Some(vec![fixed]));
        assert_eq!(
            config.socks_address("app.localhost", &[fixed]).unwrap(),
            ip("127.0.0.2")
        );
        assert_eq!(config.fixed_addrs("localhost", 3000), Some(loopback));
    }

    #[test]
    fn interface_names_are_what_linux_takes() {
        for good in ["lo", "eth0", "wg-vpn.1", "fifteen-bytes-x"] {
            assert!(is_interface_name(good), "{good:?}");
        }
        for bad in ["", "sixteen-bytes-xx", "a/b", "a b", "a\tb", "a\0b"] {
            assert!(!is_interface_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn an_override_for_one_port_wins_there_and_only_there() {
        let mut config = DialConfig::default();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        config.add_port_override("Example.com", 443, &[ip("192.0.2.1"), ip("2001:db8::1")]);
        assert_eq!(
            config.fixed_addrs("example.COM", 443),
            Some(vec![
                "192.0.2.1:443".parse().unwrap(),
                "[2001:db8::1]:443".parse().unwrap()
            ])
        );
        assert_eq!(
            config.fixed_addrs("example.com", 80),
            None,
            "another port asks the resolver"
        );
        config.add_override("example.com", vec!["192.0.2.9:0".parse().unwrap()]);
        assert_eq!(
            config.fixed_addrs("example.com", 80),
            Some(vec!["192.0.2.9:80".parse().unwrap()])
        );
        assert_eq!(
            config.fixed_addrs("example.com", 443).unwrap()[0],
            "192.0.2.1:443".parse().unwrap(),
            "the port's own entry wins over one for any port"
        );
        config.add_port_override("example.com", 443, &[ip("192.0.2.2")]);
        assert_eq!(
            config.overrides.len(),
            2,
            "a second call for the port replaces the first"
        );
    }
}
