//! Opening connections: addresses fixed for a name (`resolve`), a host with several
//! addresses raced as RFC 8305 schedules them (a hanging address costs the attempt delay, a
//! refused one nothing), and the local address connections come from. Every address is on
//! 127.0.0.0/8 (all of it is the loopback interface on Linux).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use duet_tests::server::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `http://duet.test:PORT/path` for `server`'s port.
fn named_url(server: &Server, path: &str) -> String {
    format!("http://duet.test:{}{path}", server.port())
}

duet_tests::conformance! {
    fn a_name_fixed_by_resolve_connects_to_the_address_given() {
        let server = Server::http(|req| Reply::ok(req.header_str("host").unwrap_or("-")));
        let client = duet::Client::builder()
            .resolve("Duet.Test", server.addr())
            .build()
            .unwrap();
        let response = wait!(client.get(named_url(&server, "/")).send()).unwrap();
        assert_eq!(response.remote_addr(), Some(server.addr()));
        let host = wait!(response.text()).unwrap();
        assert_eq!(host, format!("duet.test:{}", server.port()), "the Host stays the name");
    }

    fn localhost_and_names_under_it_reach_the_loopback_without_the_resolver() {
        // RFC 6761 §6.3, as curl and browsers: `app.localhost` is in no hosts file, and asking
        // a DNS server about it would be a query off the machine.
        let server = Server::http(|req| Reply::ok(req.header_str("host").unwrap_or("-")));
        // Connecting from 127.0.0.1 leaves the IPv4 loopback only: `::1`, tried first
        // otherwise, is no test server's address.
        let client = duet::Client::builder().local_address(IpAddr::from([127, 0, 0, 1])).build().unwrap();
        for name in ["app.localhost", "API.Localhost.", "localhost"] {
            let response = wait!(client.get(format!("http://{name}:{}/", server.port())).send()).unwrap();
            assert_eq!(response.remote_addr(), Some(server.addr()), "{name}");
            let host = wait!(response.text()).unwrap();
            assert_eq!(host, format!("{}:{}", name.to_ascii_lowercase(), server.port()));
        }
    }

    fn port_zero_in_a_fixed_address_means_the_urls_port() {
        let server = Server::http(|_| Reply::ok("here"));
        let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let client = duet::Client::builder().resolve("duet.test", any_port).build().unwrap();
        let response = wait!(client.get(named_url(&server, "/")).send()).unwrap();
        assert_eq!(response.remote_addr(), Some(server.addr()));
        assert_eq!(wait!(response.text()).unwrap(), "here");
    }

    fn an_address_fixed_for_one_port_serves_that_port_only() {
        let server = Server::http(|_| Reply::ok("here"));
        let nowhere: SocketAddr = "127.0.0.2:0".parse().unwrap();
        let ip = server.addr().ip();
        let client = duet::Client::builder()
            .resolve("duet.test", nowhere)
            .resolve_for_port("duet.test", server.port(), &[ip])
            .resolve_for_port("duet.test", server.port().wrapping_add(1).max(1), &["127.0.0.3".parse().unwrap()])
            .build()
            .unwrap();
        let response = wait!(client.get(named_url(&server, "/")).send()).unwrap();
        assert_eq!(response.remote_addr(), Some(server.addr()), "the port's own entry wins");
        assert_eq!(wait!(response.text()).unwrap(), "here");
    }

    fn connections_go_through_the_interface_named() {
        let server = Server::http(|_| Reply::ok("here"));
        if cfg!(target_os = "linux") {
            let client = duet::Client::builder().interface("lo").build().unwrap();
            assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "here");
        }
        let served = server.requests().len();
        // An interface the system does not know: the binding is tried, and fails.
        let client = duet::Client::builder().interface("duet-none0").build().unwrap();
        let err = wait!(client.get(server.url("/")).send()).unwrap_err();
        assert!(err.is_connect(), "{err}");
        assert!(err.to_string().contains("\"duet-none0\""), "{err}");
        assert_eq!(server.requests().len(), served, "nothing reached the server through it");
        for bad in ["", "a/b", "sixteen-bytes-xx", "with space"] {
            let err = duet::Client::builder().interface(bad).build().unwrap_err();
            assert!(err.is_connect(), "{bad:?}: {err}");
        }
    }

    fn a_proxy_named_by_resolve_is_reached_at_its_fixed_address() {
        let proxy = Server::http(|req| Reply::ok(req.target.clone()));
        let client = duet::Client::builder()
            .proxy(&format!("http://proxy.test:{}", proxy.port()))
            .resolve("proxy.test", proxy.addr())
            .build()
            .unwrap();
        let response = wait!(client.get("http://origin.test/page").send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "http://origin.test/page");
    }

    fn a_hanging_first_address_costs_the_attempt_delay_not_the_timeout() {
        let server = Server::http(|_| Reply::ok("second"));
        let hole = BlackHole::new();
        // Without the race, the first address would use up the whole connect timeout.
        let client = duet::Client::builder()
            .resolve_to_addrs("duet.test", &[hole.addr(), server.addr()])
            .connect_attempt_delay(ms(50))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        let response = wait!(client.get(named_url(&server, "/")).send()).unwrap();
        assert_eq!(response.remote_addr(), Some(server.addr()));
        assert_eq!(wait!(response.text()).unwrap(), "second");
        assert_eq!(server.connections(), 1);
    }

    fn a_refused_address_moves_on_to_the_next_at_once() {
        let server = Server::http(|_| Reply::ok("third"));
        let refused = [refused_addr(), refused_addr()];
        // An attempt delay longer than the timeout: only the refusals can move things on.
        let client = duet::Client::builder()
            .resolve_to_addrs("duet.test", &[refused[0], refused[1], server.addr()])
            .connect_attempt_delay(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        let response = wait!(client.get(named_url(&server, "/")).send()).unwrap();
        assert_eq!(response.remote_addr(), Some(server.addr()));
        assert_eq!(wait!(response.text()).unwrap(), "third");
    }

    fn every_address_refused_is_a_connect_error() {
        let addrs = [refused_addr(), refused_addr()];
        let client = duet::Client::builder()
            .resolve_to_addrs("duet.test", &addrs)
            .build()
            .unwrap();
        let err = wait!(client.get("http://duet.test/").send()).unwrap_err();
        assert!(err.is_connect(), "{err}");
        assert_eq!(err.timeout_phase(), None, "{err}");
    }

    fn every_address_hanging_is_a_connect_timeout() {
        let holes = [BlackHole::new(), BlackHole::new()];
        let client = duet::Client::builder()
            .resolve_to_addrs("duet.test", &[holes[0].addr(), holes[1].addr()])
            .connect_attempt_delay(ms(50))
            .connect_timeout(ms(400))
            .build()
            .unwrap();
        let err = wait!(client.get("http://duet.test/").send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::Connect), "{err}");
    }

    fn a_name_fixed_to_no_address_is_a_connect_error() {
        let client = duet::Client::builder().resolve_to_addrs("duet.test", &[]).build().unwrap();
        let err = wait!(client.get("http://duet.test/").send()).unwrap_err();
        assert!(err.is_connect(), "{err}");
    }

    fn small_socket_buffers_still_carry_large_bodies_both_ways() {
        // That the sizes are set on the socket is checked in each driver's unit tests.
        let server = Server::http(|req| Reply::ok(req.body.clone()));
        let client = duet::Client::builder()
            .tcp_send_buffer_size(4096)
            .tcp_recv_buffer_size(4096)
            .build()
            .unwrap();
        let body: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
        let response = wait!(client.post(server.url("/echo")).body(body.clone()).send()).unwrap();
        assert!(wait!(response.bytes()).unwrap() == body);
    }

    fn connections_come_from_the_local_address_given() {
        let server = Server::http(|_| Reply::ok("seen"));
        let proxy = Server::http(|_| Reply::ok("proxied"));
        let client = duet::Client::builder()
            .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
            // Keep-alive on too: such a connection still carries requests. That the option is
            // set on the socket is checked in each driver's unit tests, which can read it back.
            .tcp_keepalive(Duration::from_secs(30))
            .build()
            .unwrap();
        let response = wait!(client.get(server.url("/")).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "seen");
        // A fixed name with two addresses is raced, from the same local address.
        let raced = duet::Client::builder()
            .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
            .resolve_to_addrs("duet.test", &[refused_addr(), server.addr()])
            .build()
            .unwrap();
        wait!(raced.get(named_url(&server, "/")).send()).unwrap();
        // A proxy is connected to from it too.
        let proxied = duet::Client::builder()
            .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
            .proxy(&proxy.url(""))
            .build()
            .unwrap();
        let response = wait!(proxied.get("http://origin.test/").send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "proxied");
        for req in server.requests().iter().chain(&proxy.requests()) {
            let peer = req.peer.expect("the server saw the client's address");
            assert_eq!(peer.ip().to_string(), "127.0.0.2", "{}", req.target);
        }
        assert_eq!(server.requests().len(), 2);
    }

    fn a_local_address_of_the_other_family_is_a_connect_error_before_connecting() {
        let server = Server::http(|_| Reply::ok("never"));
        let client = duet::Client::builder()
            .local_address("::1".parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap();
        let err = wait!(client.get(server.url("/")).send()).unwrap_err();
        assert!(err.is_connect(), "{err}");
        assert!(err.to_string().contains("no IPv6 address"), "{err}");
        assert_eq!(server.connections(), 0);
    }
}
