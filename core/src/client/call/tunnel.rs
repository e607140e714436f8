//! Reaching the origin through a proxy (RFC 9110 §9.3.6 CONNECT, RFC 1928 SOCKS5).
//!
//! A new connection to a proxy first becomes a tunnel when it has to: for an https origin
//! through an HTTP(S) proxy, a `CONNECT host:port` exchange that carries only `Host` and the
//! proxy's credentials (never the origin's headers); through SOCKS5, the SOCKS handshake.
//! Then, for https, the driver starts TLS with the origin's name over the tunnel. A plain
//! http origin through an HTTP(S) proxy needs no tunnel: requests go in absolute form with
//! `Proxy-Authorization`. A pooled connection is already past all this.

use std::time::Instant;
use sync_wrapper::SyncWrapper;

use http::{Method, StatusCode};

use super::Call;
use crate::auth::{AuthFlow, AuthRequest, AuthResponse, AuthStep, ProxyFlow};
use crate::client::error::{Error, ErrorKind, TimeoutPhase};
use crate::client::origin::RedactedUrl;
use crate::connection::{Connection, Output};
use crate::proxy::Proxy;
#[cfg(feature = "socks")]
use crate::proxy::{ProxyScheme, Socks5Handshake, Socks5Target};
use crate::request::{RequestBody, RequestHead, TargetForm, target_for};
use crate::response::ResponseHead;

/// A tunnel being set up on a new connection.
#[derive(Debug)]
pub(super) enum Tunnel {
    /// The CONNECT exchange.
    Connect(Box<Connection>),
    /// The SOCKS5 handshake and the bytes read for it.
    #[cfg(feature = "socks")]
    Socks(Box<Socks5Handshake>, Vec<u8>),
    /// The tunnel is open; the driver must start TLS with the origin.
    StartTls,
    /// The driver started TLS over the tunnel; the origin exchange begins.
    Ready,
}

/// A 407 to the CONNECT being read, for the proxy's flow.
#[derive(Debug)]
pub(super) enum ConnectChallenge {
    /// The flow answered at its head: its body is skipped, then the CONNECT goes again.
    Answered,
    /// The flow asked for its body (`needs_response_body`) before it decides.
    Reading(Box<(ResponseHead, Vec<u8>)>),
}

/// What the tunnel setup needs next.
#[derive(Debug)]
pub(super) enum TunnelStep {
    /// Write [`Call::tunnel_bytes`] by this deadline.
    Transmit(Option<Instant>),
    /// Read the proxy's answer by this deadline.
    Receive(Option<Instant>),
    /// Start TLS with this origin host over the tunnel.
    StartTls(String),
    /// The tunnel is open: begin the origin exchange.
    Open,
    /// The proxy closed the connection after asking for credentials: connect to it again
    /// (the CONNECT with the answer goes on the new connection).
    Reconnect,
}

/// Lets the proxy's flow answer a 407 to the CONNECT (`connect`, edited for the next try):
/// fails with the refusal unless it asks to try again.
fn answer_connect(
    flow: &mut ProxyFlow,
    connect: &mut RequestHead,
    method: &Method,
    url: &url::Url,
    head: &ResponseHead,
    body: Option<&[u8]>,
) -> Result<(), Error> {
    let response = AuthResponse {
        status: head.status(),
        headers: head.headers(),
        body,
    };
    let mut request = AuthRequest {
        method: &Method::CONNECT,
        url,
        headers: connect.headers_mut(),
        body: None,
    };
    match flow.respond(&mut request, &response) {
        Ok(AuthStep::Retry) => {
            log::debug!(
                "{method} {}: the proxy asked for credentials for the tunnel (407); sending the CONNECT again with the proxy authentication flow's answer",
                RedactedUrl(url),
            );
            Ok(())
        }
        Ok(_) => Err(refused(head.status())),
        Err(e) => Err(Error::new(ErrorKind::Auth, e)),
    }
}

/// The error for a proxy that answered CONNECT with anything but 2xx; it carries the status.
fn refused(status: StatusCode) -> Error {
    let message = match status.as_u16() {
        407 => "the proxy requires authentication (407 Proxy Authentication Required)".to_owned(),
        _ => format!("the proxy refused the tunnel with {status}"),
    };
    proxy_error(message).with_status(status)
}

/// Whether requests to an origin through `proxy` go in absolute form (RFC 9112 §3.2.2): an
/// http origin through an HTTP(S) proxy.
pub(super) fn absolute_form(proxy: Option<&Proxy>, origin_is_tls: bool) -> bool {
    proxy.is_some_and(|p| !p.scheme().is_socks()) && !origin_is_tls
}

fn proxy_error(message: impl Into<String>) -> Error {
    Error::msg(ErrorKind::Proxy, message)
}

/// The proxy closed the connection as it opened the tunnel.
fn closed_tunnel() -> Error {
    proxy_error("the proxy closed the connection as it opened the tunnel")
}

impl Call {
    /// Whether a new connection needs a tunnel before the request.
    pub(super) fn needs_tunnel(&self) -> bool {
        match &self.key.proxy {
            Some(p) => p.scheme().is_socks() || self.key.origin.is_tls(),
            None => false,
        }
    }

    /// Starts the tunnel on a new connection to the proxy.
    pub(super) fn start_tunnel(&mut self, now: Instant) -> Result<(), Error> {
        let proxy = self.key.proxy.clone().expect("a proxy");
        let tunnel = if proxy.scheme().is_socks() {
            self.socks_tunnel(&proxy)?
        } else {
            if std::mem::take(&mut self.tunnel_reconnect)
                && let Some(connect) = self.connect_head.as_deref()
            {
                // The answer to the 407 the proxy closed after, on this new connection; the
                // flow and its rounds carry on.
                let mut conn = Connection::new(self.session.config.limits.clone());
                conn.send_request(connect, RequestBody::None, now)?;
                self.connect_challenge = None;
                self.tunnel = Some(Tunnel::Connect(Box::new(conn)));
                return Ok(());
            }
            // The same authority an auth flow sees for CONNECT (a Digest `uri`, say).
            let authority = target_for(&self.url, TargetForm::Authority);
            let mut head = RequestHead::new(Method::CONNECT, authority.clone())?;
            head.headers_mut().append("Host", &authority)?;
            if let Some(credentials) = proxy.basic_authorization() {
                head.headers_mut()
                    .append("Proxy-Authorization", credentials)?;
            }
            // Credentials for a proxy that challenges, in any scheme, go on the CONNECT only.
            self.proxy_flow = None;
            self.proxy_rounds = 0;
            if let Some(inner) = self
                .session
                .config
                .proxy_auth
                .as_ref()
                .and_then(|auth| auth.flow(&self.url))
            {
                let mut flow = ProxyFlow::new(inner);
                let mut request = AuthRequest {
                    method: &Method::CONNECT,
                    url: &self.url,
                    headers: head.headers_mut(),
                    body: None,
                };
                flow.authorize(&mut request)
                    .map_err(|e| Error::new(ErrorKind::Auth, e))?;
                self.proxy_flow = Some(SyncWrapper::new(flow));
            }
            let mut conn = Connection::new(self.session.config.limits.clone());
            conn.send_request(&head, RequestBody::None, now)?;
            self.connect_head = Some(Box::new(head));
            self.connect_challenge = None;
            Tunnel::Connect(Box::new(conn))
        };
        self.tunnel = Some(tunnel);
        Ok(())
    }

    /// The next step while the tunnel is set up.
    pub(super) fn tunnel_step(&mut self, now: Instant) -> Result<TunnelStep, Error> {
        if let Some(e) = self.tunnel_error.take() {
            return Err(*e);
        }
        let deadline = self.deadline(now, self.timeouts.connect, TimeoutPhase::Connect);
        let open = match self.tunnel.as_mut().expect("a tunnel") {
            Tunnel::StartTls => {
                self.tunnel = Some(Tunnel::Ready);
                return Ok(TunnelStep::StartTls(self.key.origin.host().to_owned()));
            }
            Tunnel::Ready => {
                self.tunnel = None;
                return Ok(TunnelStep::Open);
            }
            #[cfg(feature = "socks")]
            Tunnel::Socks(handshake, _) if handshake.is_done() => true,
            #[cfg(feature = "socks")]
            Tunnel::Socks(handshake, _) if handshake.poll_transmit().is_some() => {
                return Ok(TunnelStep::Transmit(deadline));
            }
            #[cfg(feature = "socks")]
            Tunnel::Socks(..) => return Ok(TunnelStep::Receive(deadline)),
            Tunnel::Connect(conn) if conn.poll_transmit().is_some() => {
                return Ok(TunnelStep::Transmit(deadline));
            }
            Tunnel::Connect(conn) => loop {
                match conn.poll_output(usize::MAX) {
                    Err(e) => return Err(Error::new(ErrorKind::Proxy, e)),
                    Ok(None) => return Ok(TunnelStep::Receive(deadline)),
                    Ok(Some(Output::Interim(_))) => continue,
                    Ok(Some(Output::Response(head))) if head.status().is_success() => continue,
                    Ok(Some(Output::Response(head))) => {
                        // A 407 the proxy flow can answer: read its body, then CONNECT again.
                        let (Some(flow), Some(connect)) = (
                            self.proxy_flow.as_mut().map(SyncWrapper::get_mut),
                            self.connect_head.as_mut(),
                        ) else {
                            return Err(refused(head.status()));
                        };
                        if head.status() != StatusCode::PROXY_AUTHENTICATION_REQUIRED
                            || self.proxy_rounds >= self.session.config.limits.max_auth_rounds
                        {
                            return Err(refused(head.status()));
                        }
                        if flow.needs_response_body() {
                            let reading = Box::new((head, Vec::new()));
                            self.connect_challenge = Some(ConnectChallenge::Reading(reading));
                            continue;
                        }
                        answer_connect(flow, connect, &self.method, &self.url, &head, None)?;
                        self.proxy_rounds += 1;
                        self.connect_challenge = Some(ConnectChallenge::Answered);
                    }
                    Ok(Some(Output::Data(range)))
                        if matches!(self.connect_challenge, Some(ConnectChallenge::Reading(_))) =>
                    {
                        let Some(ConnectChallenge::Reading(reading)) = &mut self.connect_challenge
                        else {
                            unreachable!("matched above")
                        };
                        let body = &mut reading.1;
                        if body.len() + range.len()
                            > self.session.config.limits.max_drain_bytes as usize
                        {
                            return Err(super::auth::challenge_too_large());
                        }
                        body.extend_from_slice(conn.output_data(range));
                    }
                    Ok(Some(Output::Data(_) | Output::Trailers(_)))
                        if self.connect_challenge.is_some() =>
                    {
                        continue;
                    }
                    Ok(Some(Output::End)) if self.connect_challenge.is_some() => {
                        if let Some(ConnectChallenge::Reading(reading)) =
                            self.connect_challenge.take()
                        {
                            let (head, body) = *reading;
                            let flow = self.proxy_flow.as_mut().expect("checked at the head");
                            let connect = self.connect_head.as_mut().expect("kept for retries");
                            answer_connect(
                                flow.get_mut(),
                                connect,
                                &self.method,
                                &self.url,
                                &head,
                                Some(&body),
                            )?;
                            self.proxy_rounds += 1;
                        }
                        self.connect_challenge = None;
                        let connect = self.connect_head.as_ref().expect("kept for retries");
                        if conn.start_next_cycle().is_err() {
                            let flow = self.proxy_flow.as_mut().map(SyncWrapper::get_mut);
                            if flow.is_some_and(|f| f.same_connection()) {
                                return Err(super::auth::bound_connection_closed("proxy"));
                            }
                            // Many proxies close after a 407: the answer goes on a new
                            // connection, as curl sends it.
                            log::debug!(
                                "{} {}: the proxy closed the connection after its 407; the CONNECT goes again on a new one",
                                self.method,
                                RedactedUrl(&self.url),
                            );
                            self.tunnel = None;
                            self.tunnel_reconnect = true;
                            return Ok(TunnelStep::Reconnect);
                        }
                        conn.send_request(connect, RequestBody::None, now)?;
                        return Ok(TunnelStep::Transmit(deadline));
                    }
                    Ok(Some(Output::Upgraded)) if conn.is_closed_by_peer() => {
                        return Err(closed_tunnel());
                    }
                    Ok(Some(Output::Upgraded)) if conn.take_buffered().is_empty() => {
                        log::debug!(
                            "{} {}: the proxy opened a tunnel to {}",
                            self.method,
                            RedactedUrl(&self.url),
                            self.key.origin,
                        );
                        break true;
                    }
                    Ok(Some(Output::Upgraded)) => {
                        return Err(proxy_error(
                            "the proxy sent bytes before the tunnel was in use",
                        ));
                    }
                    Ok(Some(_)) => return Err(proxy_error("unexpected reply to CONNECT")),
                }
            },
        };
        debug_assert!(open);
        if self.key.origin.is_tls() {
            self.tunnel = Some(Tunnel::StartTls);
            return self.tunnel_step(now);
        }
        self.tunnel = None;
        Ok(TunnelStep::Open)
    }

    /// The SOCKS5 handshake for a new connection to `proxy`.
    #[cfg(feature = "socks")]
    fn socks_tunnel(&self, proxy: &Proxy) -> Result<Tunnel, Error> {
        let origin = &self.key.origin;
        let target = match (proxy.scheme(), self.resolved_target) {
            (ProxyScheme::Socks5, Some(ip)) => Socks5Target::Ip(ip),
            _ => Socks5Target::from_host(origin.host()),
        };
        let credentials = proxy
            .credentials()
            .map(|(u, p)| (u.to_owned(), p.to_owned()));
        let handshake = Socks5Handshake::new(target, origin.port(), credentials)
            .map_err(|e| Error::new(ErrorKind::Proxy, e))?;
        Ok(Tunnel::Socks(Box::new(handshake), Vec::new()))
    }

    /// Without the `socks` feature no SOCKS proxy parses, so none reaches a call.
    #[cfg(not(feature = "socks"))]
    fn socks_tunnel(&self, proxy: &Proxy) -> Result<Tunnel, Error> {
        let scheme = proxy.scheme().as_str().to_owned();
        Err(Error::new(
            ErrorKind::Proxy,
            crate::proxy::ProxyError::SocksDisabled(scheme),
        ))
    }

    /// The bytes a [`TunnelStep::Transmit`] asked to write.
    pub(super) fn tunnel_bytes(&self) -> &[u8] {
        match self.tunnel.as_ref() {
            Some(Tunnel::Connect(conn)) => conn.poll_transmit().unwrap_or_default(),
            #[cfg(feature = "socks")]
            Some(Tunnel::Socks(handshake, _)) => handshake.poll_transmit().unwrap_or_default(),
            _ => &[],
        }
    }

    /// Bytes of the tunnel's requests were written.
    pub(super) fn tunnel_transmitted(&mut self, n: usize) {
        match self.tunnel.as_mut() {
            Some(Tunnel::Connect(conn)) => conn.advance_transmit(n),
            #[cfg(feature = "socks")]
            Some(Tunnel::Socks(handshake, _)) => handshake.advance_transmit(n),
            _ => {}
        }
    }

    /// A buffer to read the proxy's answer into.
    pub(super) fn tunnel_input_buffer(&mut self, min: usize) -> &mut [u8] {
        match self.tunnel.as_mut() {
            Some(Tunnel::Connect(conn)) => conn.input_buffer(min),
            #[cfg(feature = "socks")]
            Some(Tunnel::Socks(_, buf)) => {
                buf.resize(min.max(1), 0);
                buf
            }
            _ => unreachable!("no tunnel input without a tunnel"),
        }
    }

    /// `n` bytes were read from the proxy (an error is reported at the next step).
    pub(super) fn tunnel_commit_input(&mut self, n: usize) {
        let result = match self.tunnel.as_mut() {
            Some(Tunnel::Connect(conn)) => {
                conn.commit_input(n);
                Ok(())
            }
            #[cfg(feature = "socks")]
            Some(Tunnel::Socks(handshake, buf)) => match handshake.handle_input(&buf[..n]) {
                Ok(used) if used < n => Err(proxy_error(
                    "the SOCKS proxy sent bytes before the tunnel was in use",
                )),
                Ok(_) => Ok(()),
                Err(e) => Err(Error::new(ErrorKind::Proxy, e)),
            },
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.tunnel_error = Some(Box::new(e));
        }
    }

    /// The proxy closed the connection during the setup.
    pub(super) fn tunnel_eof(&mut self) {
        match self.tunnel.as_mut() {
            Some(Tunnel::Connect(conn)) => conn.handle_eof(),
            #[cfg(feature = "socks")]
            Some(Tunnel::Socks(handshake, _)) if !handshake.is_done() => {
                if let Err(e) = handshake.handle_eof() {
                    self.tunnel_error = Some(Box::new(Error::new(ErrorKind::Proxy, e)));
                }
            }
            // Closed once the tunnel was open (a driver may report the end with the reply's
            // last bytes): nothing can go through it, so the request must not be sent.
            Some(_) => self.tunnel_error = Some(Box::new(closed_tunnel())),
            None => {}
        }
    }
}
