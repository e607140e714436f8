use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

const TUNNEL: &[u8] = b"\x16\x03\x01 tunnel bytes";

fn creds(user: &str, password: &str) -> Option<(String, String)> {
    Some((user.to_owned(), password.to_owned()))
}

/// Plays `server` (the proxy's bytes) against a handshake, split into the given chunks, and
/// returns everything the client wrote, how many bytes were consumed, and the outcome.
fn play(
    mut hs: Socks5Handshake,
    server: &[u8],
    chunks: &[usize],
) -> (Vec<u8>, usize, Result<Socks5Handshake, ProxyError>) {
    let mut wrote = Vec::new();
    let mut used = 0;
    let mut drain = |hs: &mut Socks5Handshake| {
        while let Some(bytes) = hs.poll_transmit() {
            let bytes = bytes.to_vec();
            wrote.extend_from_slice(&bytes);
            hs.advance_transmit(bytes.len());
        }
    };
    drain(&mut hs);
    let mut at = 0;
    for &chunk in chunks.iter().chain(std::iter::once(&usize::MAX)) {
        if hs.is_done() || at == server.len() {
            break;
        }
        let end = at.saturating_add(chunk).min(server.len());
        match hs.handle_input(&server[at..end]) {
            Ok(n) => {
                assert!(n <= end - at);
                used += n;
                if !hs.is_done() {
                    assert_eq!(n, end - at, "consumes everything until done");
                }
            }
            Err(e) => return (wrote, used, Err(e)),
        }
        drain(&mut hs);
        at = end;
    }
    let result = match hs.is_done() {
        true => Ok(hs),
        false => hs.handle_eof().map(|_| unreachable!()),
    };
    (wrote, used, result)
}

/// Every way to feed `server`: whole, one byte at a time, and split at every point. All must
/// agree; returns the common outcome.
fn play_all(
    new: impl Fn() -> Socks5Handshake,
    server: &[u8],
) -> (Vec<u8>, usize, Result<Socks5Handshake, ProxyError>) {
    let whole = play(new(), server, &[]);
    let mut ways = vec![vec![1; server.len()]];
    ways.extend((1..server.len()).map(|split| vec![split]));
    for chunks in ways {
        let other = play(new(), server, &chunks);
        // After an error, what was written and consumed depends on where the input split.
        if whole.2.is_ok() {
            assert_eq!(other.0, whole.0, "written bytes, chunks {chunks:?}");
            assert_eq!(other.1, whole.1, "consumed, chunks {chunks:?}");
        }
        assert_eq!(
            other
                .2
                .as_ref()
                .map(|h| h.bound_address())
                .map_err(Clone::clone),
            whole
                .2
                .as_ref()
                .map(|h| h.bound_address())
                .map_err(Clone::clone),
            "outcome, chunks {chunks:?}"
        );
    }
    whole
}

fn success(
    new: impl Fn() -> Socks5Handshake,
    server_replies: &[u8],
    expect_written: &[u8],
    bound: (Socks5Target, u16),
) {
    let server = [server_replies, TUNNEL].concat();
    let (wrote, used, result) = play_all(new, &server);
    assert_eq!(wrote, expect_written);
    assert_eq!(used, server_replies.len(), "tunnel bytes left untouched");
    let hs = result.unwrap();
    assert!(hs.is_done());
    assert_eq!(hs.bound_address(), Some((&bound.0, bound.1)));
}

fn failure(new: impl Fn() -> Socks5Handshake, server: &[u8]) -> ProxyError {
    let (_, _, result) = play_all(new, server);
    result.unwrap_err()
}

fn ipv4_target() -> Socks5Handshake {
    Socks5Handshake::new(
        Socks5Target::Ip(Ipv4Addr::new(93, 184, 215, 14).into()),
        80,
        None,
    )
    .unwrap()
}

fn domain_with_auth() -> Socks5Handshake {
    let target = Socks5Target::Domain("example.com".into());
    Socks5Handshake::new(target, 443, creds("alice", "s3cret")).unwrap()
}

const CONNECT_IPV4: &[u8] = b"\x05\x01\x00\x01\x5d\xb8\xd7\x0e\x00\x50";
const REPLY_IPV4: &[u8] = b"\x05\x00\x00\x01\x0a\x00\x00\x01\x10\xe1";

#[test]
fn no_auth_ipv4_target_ipv4_bound() {
    let written = [&[5, 1, 0][..], CONNECT_IPV4].concat();
    let bound = (Socks5Target::Ip(Ipv4Addr::new(10, 0, 0, 1).into()), 4321);
    success(
        ipv4_target,
        &[&[5, 0][..], REPLY_IPV4].concat(),
        &written,
        bound,
    );
}

#[test]
fn ipv6_target_ipv6_bound() {
    let ip: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let new = || Socks5Handshake::new(Socks5Target::Ip(ip.into()), 8443, None).unwrap();
    let mut written = vec![5, 1, 0, 5, 1, 0, 4];
    written.extend_from_slice(&ip.octets());
    written.extend_from_slice(&8443u16.to_be_bytes());
    let mut reply = vec![5, 0, 5, 0, 0, 4];
    reply.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    reply.extend_from_slice(&[0, 80]);
    let bound = (Socks5Target::Ip(Ipv6Addr::LOCALHOST.into()), 80);
    success(new, &reply, &written, bound);
}

#[test]
fn domain_target_with_auth_domain_bound() {
    let written = [
        &[5, 2, 0, 2][..],
        b"\x01\x05alice\x06s3cret",
        b"\x05\x01\x00\x03\x0bexample.com\x01\xbb",
    ]
    .concat();
    let replies = [&[5, 2, 1, 0][..], b"\x05\x00\x00\x03\x09proxy.lan\x04\x38"].concat();
    let bound = (Socks5Target::Domain("proxy.lan".into()), 1080);
    success(domain_with_auth, &replies, &written, bound);
}

#[test]
fn auth_offered_but_not_chosen() {
    let written = [
        &[5, 2, 0, 2][..],
        b"\x05\x01\x00\x03\x0bexample.com\x01\xbb",
    ]
    .concat();
    let replies = [&[5, 0][..], REPLY_IPV4].concat();
    let bound = (Socks5Target::Ip(Ipv4Addr::new(10, 0, 0, 1).into()), 4321);
    success(domain_with_auth, &replies, &written, bound);
}

#[test]
fn auth_status_with_version_5_is_tolerated() {
    let replies = [&[5, 2, 5, 0][..], REPLY_IPV4].concat();
    let (_, used, result) = play_all(domain_with_auth, &[&replies[..], TUNNEL].concat());
    assert_eq!(used, replies.len());
    assert!(result.unwrap().is_done());
}

#[test]
fn empty_credentials_are_sent_with_zero_lengths() {
    let mut hs = Socks5Handshake::new(Socks5Target::Domain("h".into()), 1, creds("", "")).unwrap();
    hs.advance_transmit(4);
    hs.handle_input(&[5, 2]).unwrap();
    assert_eq!(hs.poll_transmit(), Some(&[1, 0, 0][..]));
}

#[test]
fn no_acceptable_method() {
    assert_eq!(
        failure(ipv4_target, &[5, 0xFF]),
        ProxyError::NoAcceptableMethod
    );
    assert_eq!(
        failure(domain_with_auth, &[5, 0xFF]),
        ProxyError::NoAcceptableMethod
    );
}

#[test]
fn unexpected_method() {
    // Username/password without credentials, GSSAPI, and a private method.
    for method in [0x02, 0x01, 0x80] {
        let err = failure(ipv4_target, &[5, method]);
        assert_eq!(err, ProxyError::UnexpectedMethod(method));
        assert!(err.is_remote());
    }
    assert_eq!(
        failure(domain_with_auth, &[5, 1]),
        ProxyError::UnexpectedMethod(1)
    );
}

#[test]
fn bad_versions() {
    let bad = |phase, expected, got| ProxyError::BadVersion {
        phase,
        expected,
        got,
    };
    let method = Socks5Phase::MethodSelection;
    assert_eq!(failure(ipv4_target, &[4, 0]), bad(method, 5, 4));
    // Reported on the first byte, without waiting for the second.
    assert_eq!(failure(ipv4_target, &[4]), bad(method, 5, 4));
    let auth = Socks5Phase::Authentication;
    assert_eq!(failure(domain_with_auth, &[5, 2, 2, 0]), bad(auth, 1, 2));
    let reply = Socks5Phase::Reply;
    let err = failure(ipv4_target, b"\x05\x00\x04\x00\x00\x01");
    assert_eq!(err, bad(reply, 5, 4));
    assert!(err.to_string().contains("reply to CONNECT"), "{err}");
}

#[test]
fn auth_failed() {
    for status in [1, 0xFF] {
        let err = failure(domain_with_auth, &[5, 2, 1, status]);
        assert_eq!(err, ProxyError::AuthFailed(status));
    }
}

#[test]
fn every_reply_code() {
    let expected = [
        (
            1,
            Socks5Reply::GeneralFailure,
            "general SOCKS server failure",
        ),
        (
            2,
            Socks5Reply::NotAllowed,
            "connection not allowed by ruleset",
        ),
        (3, Socks5Reply::NetworkUnreachable, "network unreachable"),
        (4, Socks5Reply::HostUnreachable, "host unreachable"),
        (5, Socks5Reply::ConnectionRefused, "connection refused"),
        (6, Socks5Reply::TtlExpired, "TTL expired"),
        (7, Socks5Reply::CommandNotSupported, "command not supported"),
        (
            8,
            Socks5Reply::AddressTypeNotSupported,
            "address type not supported",
        ),
        (9, Socks5Reply::Unassigned(9), "unassigned reply code"),
        (0xFF, Socks5Reply::Unassigned(0xFF), "unassigned reply code"),
    ];
    for (code, reply, text) in expected {
        assert_eq!(Socks5Reply::from_code(code), reply);
        assert_eq!(reply.code(), code);
        assert!(reply.to_string().starts_with(text), "{reply}");
        // A whole failure reply, and one cut short after REP (reported by its code).
        let whole = [5, 0, 5, code, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            failure(ipv4_target, &whole),
            ProxyError::ConnectFailed(reply)
        );
        assert_eq!(
            failure(ipv4_target, &whole[..4]),
            ProxyError::ConnectFailed(reply)
        );
    }
}

#[test]
fn unknown_address_type() {
    for atyp in [0, 2, 5, 0xFF] {
        let err = failure(ipv4_target, &[5, 0, 5, 0, 0, atyp, 1, 2, 3, 4, 5, 6]);
        assert_eq!(err, ProxyError::UnknownAddressType(atyp));
    }
}

#[test]
fn truncated_in_every_phase() {
    let cut = |phase, expected, received| ProxyError::Truncated {
        phase,
        expected,
        received,
    };
    use Socks5Phase::*;
    assert_eq!(failure(ipv4_target, &[]), cut(MethodSelection, 2, 0));
    assert_eq!(failure(ipv4_target, &[5]), cut(MethodSelection, 2, 1));
    assert_eq!(
        failure(domain_with_auth, &[5, 2]),
        cut(Authentication, 2, 0)
    );
    assert_eq!(
        failure(domain_with_auth, &[5, 2, 1]),
        cut(Authentication, 2, 1)
    );
    assert_eq!(failure(ipv4_target, &[5, 0]), cut(Reply, 4, 0));
    assert_eq!(failure(ipv4_target, &[5, 0, 5, 0, 0]), cut(Reply, 4, 3));
    assert_eq!(
        failure(ipv4_target, &[5, 0, 5, 0, 0, 1, 10]),
        cut(Reply, 10, 5)
    );
    assert_eq!(failure(ipv4_target, &[5, 0, 5, 0, 0, 4]), cut(Reply, 22, 4));
    assert_eq!(failure(ipv4_target, &[5, 0, 5, 0, 0, 3]), cut(Reply, 5, 4));
    assert_eq!(
        failure(ipv4_target, b"\x05\x00\x05\x00\x00\x03\x03ab"),
        cut(Reply, 10, 7)
    );
    let err = failure(ipv4_target, &[5, 0, 5, 0, 0, 1, 10]);
    assert_eq!(
        err.to_string(),
        "SOCKS5 proxy closed the connection in its reply to CONNECT: expected 10 bytes, \
         received 5"
    );
}

#[test]
fn errors_are_sticky() {
    let mut hs = ipv4_target();
    hs.advance_transmit(3);
    let err = hs.handle_input(&[5, 0xFF]).unwrap_err();
    assert_eq!(hs.handle_input(&[5, 0]), Err(err.clone()));
    assert_eq!(hs.handle_input(&[]), Err(err.clone()));
    assert_eq!(hs.handle_eof(), Err(err));
    assert_eq!(hs.poll_transmit(), None);
    assert!(!hs.is_done());

    // A failure clears what was still queued.
    let mut hs = ipv4_target();
    assert!(hs.handle_input(&[4]).is_err());
    assert_eq!(hs.poll_transmit(), None);
}

#[test]
fn after_done_nothing_is_consumed() {
    let mut hs = ipv4_target();
    hs.advance_transmit(3);
    assert_eq!(hs.handle_input(&[5, 0]), Ok(2));
    hs.advance_transmit(CONNECT_IPV4.len());
    assert_eq!(hs.handle_input(REPLY_IPV4), Ok(REPLY_IPV4.len()));
    assert!(hs.is_done());
    assert_eq!(hs.handle_input(TUNNEL), Ok(0));
    assert_eq!(hs.handle_eof(), Ok(()));
    assert_eq!(hs.poll_transmit(), None);
}

#[test]
fn partial_writes() {
    let mut hs = domain_with_auth();
    assert_eq!(hs.poll_transmit(), Some(&[5, 2, 0, 2][..]));
    hs.advance_transmit(1);
    assert_eq!(hs.poll_transmit(), Some(&[2, 0, 2][..]));
    hs.advance_transmit(100);
    assert_eq!(hs.poll_transmit(), None);
    assert_eq!(hs.handle_input(&[]), Ok(0));
    assert_eq!(hs.poll_transmit(), None);
}

#[test]
fn invalid_targets_and_credentials() {
    let domain = |len| Socks5Target::Domain("a".repeat(len));
    assert!(Socks5Handshake::new(domain(255), 1, None).is_ok());
    assert_eq!(
        Socks5Handshake::new(domain(256), 1, None).unwrap_err(),
        ProxyError::InvalidDomainLength { len: 256 }
    );
    assert_eq!(
        Socks5Handshake::new(domain(0), 1, None).unwrap_err(),
        ProxyError::InvalidDomainLength { len: 0 }
    );
    let long = "x".repeat(256);
    let ok = "x".repeat(255);
    assert!(Socks5Handshake::new(domain(1), 1, creds(&ok, &ok)).is_ok());
    let err = Socks5Handshake::new(domain(1), 1, creds(&long, "pw")).unwrap_err();
    assert_eq!(
        err,
        ProxyError::CredentialTooLong {
            field: "user name",
            len: 256
        }
    );
    assert!(!err.is_remote());
    let err = Socks5Handshake::new(domain(1), 1, creds("u", &long)).unwrap_err();
    assert_eq!(
        err,
        ProxyError::CredentialTooLong {
            field: "password",
            len: 256
        }
    );
}

#[test]
fn debug_hides_credentials() {
    let mut hs = domain_with_auth();
    hs.advance_transmit(4);
    hs.handle_input(&[5, 2]).unwrap();
    let debug = format!("{hs:?}");
    assert!(
        !debug.contains("s3cret") && !debug.contains("alice"),
        "{debug}"
    );
}

#[test]
fn targets_from_hosts() {
    let v6: IpAddr = "::1".parse().unwrap();
    assert_eq!(Socks5Target::from_host("[::1]"), Socks5Target::Ip(v6));
    assert_eq!(Socks5Target::from_host("::1"), Socks5Target::Ip(v6));
    let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
    assert_eq!(Socks5Target::from_host("127.0.0.1"), Socks5Target::Ip(v4));
    let name = Socks5Target::Domain("example.com".into());
    assert_eq!(Socks5Target::from_host("example.com"), name);
}

#[test]
fn debug_shows_the_state_never_the_credentials() {
    let shown = format!("{:?}", domain_with_auth());
    assert!(shown.starts_with("Socks5Handshake {"), "{shown}");
    assert!(shown.contains("queued_bytes"), "{shown}");
    assert!(
        !shown.contains("s3cret") && !shown.contains("alice"),
        "{shown}"
    );
}
