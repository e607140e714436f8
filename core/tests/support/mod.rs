//! Helpers for the connection scenarios: build requests, feed responses split every way,
//! and record events in an owned, comparable form.

#![allow(clippy::disallowed_methods, dead_code)] // tests may read the clock to get an Instant

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use duet_core::auth::{Auth, AuthError, AuthFlow, AuthRequest, AuthResponse, AuthStep};
use duet_core::{
    Connection, Error, Event, Limits, Method, RequestBody, RequestHead, ResponseHead, Url,
};

/// One fixed instant for every test: duet-core never reads the clock itself.
pub fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

/// A request head for `method` with a Host and the given extra headers.
pub fn request(method: &str, headers: &[(&str, &str)]) -> RequestHead {
    let mut head = RequestHead::new(Method::from_bytes(method.as_bytes()).unwrap(), "/").unwrap();
    head.headers_mut().append("Host", "example.test").unwrap();
    for (name, value) in headers {
        head.headers_mut().append(name, value).unwrap();
    }
    head
}

/// An event in owned form; adjacent `Data` are merged when recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Interim(u16, Vec<(String, String)>),
    Response(u16, String, Vec<u8>, Vec<(String, String)>),
    Data(Vec<u8>),
    Trailers(Vec<(String, String)>),
    End,
    Upgraded,
}

fn fields(headers: &duet_core::Headers) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

fn head_ev(head: &ResponseHead, interim: bool) -> Ev {
    if interim {
        Ev::Interim(head.status().as_u16(), fields(head.headers()))
    } else {
        Ev::Response(
            head.status().as_u16(),
            format!("{:?}", head.version()),
            head.reason().to_vec(),
            fields(head.headers()),
        )
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub events: Vec<Ev>,
    pub error: Option<Error>,
    pub reusable: bool,
    pub leftover: usize,
}

/// Drains events into `out`, merging Data; returns the error if one came.
pub fn drain(conn: &mut Connection, out: &mut Vec<Ev>, max_data: usize) -> Option<Error> {
    loop {
        let ev = match conn.poll_event_max(max_data) {
            Ok(None) => return None,
            Err(e) => return Some(e),
            Ok(Some(ev)) => ev,
        };
        let ev = match ev {
            Event::Interim(h) => head_ev(&h, true),
            Event::Response(h) => head_ev(&h, false),
            Event::Data(d) => {
                if let Some(Ev::Data(prev)) = out.last_mut() {
                    prev.extend_from_slice(d);
                    continue;
                }
                Ev::Data(d.to_vec())
            }
            Event::Trailers(t) => Ev::Trailers(fields(&t)),
            Event::EndOfMessage => Ev::End,
            Event::Upgraded => Ev::Upgraded,
            other => panic!("unknown event {other:?}"),
        };
        out.push(ev);
    }
}

/// Sends `head` (no body) on a fresh connection and feeds `response` in the pieces that
/// `cuts` (ascending offsets) make, then EOF if `eof`.
pub fn run_with(
    limits: &Limits,
    head: &RequestHead,
    response: &[u8],
    cuts: &[usize],
    eof: bool,
    max_data: usize,
) -> Outcome {
    let mut conn = Connection::new(limits.clone());
    conn.send_request(head, RequestBody::None, t0()).unwrap();
    let sent = conn.poll_transmit().map_or(0, <[u8]>::len);
    conn.advance_transmit(sent);
    let mut events = Vec::new();
    let mut error = None;
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&response.len())) {
        if error.is_some() {
            break;
        }
        // Alternate the two input paths so both are exercised.
        if from % 2 == 0 {
            conn.handle_input(&response[from..to]);
        } else {
            let n = to - from;
            conn.input_buffer(n)[..n].copy_from_slice(&response[from..to]);
            conn.commit_input(n);
        }
        error = drain(&mut conn, &mut events, max_data);
        from = to;
    }
    if error.is_none() && eof {
        conn.handle_eof();
        error = drain(&mut conn, &mut events, max_data);
    }
    let reusable = conn.is_reusable();
    // After an error the split decides how much was fed; only compare leftovers on success.
    let leftover = if error.is_none() {
        conn.take_buffered().len()
    } else {
        0
    };
    Outcome {
        events,
        error,
        reusable,
        leftover,
    }
}

/// Runs `response` whole, byte by byte, at every single split point and with small Data
/// reads; asserts every way gives the same outcome, and returns it.
pub fn run_all_ways(limits: &Limits, head: &RequestHead, response: &[u8], eof: bool) -> Outcome {
    let whole = run_with(limits, head, response, &[], eof, usize::MAX);
    let bytewise: Vec<usize> = (1..response.len()).collect();
    let label = String::from_utf8_lossy(response);
    assert_eq!(
        run_with(limits, head, response, &bytewise, eof, usize::MAX),
        whole,
        "byte at a time: {label:?}"
    );
    assert_eq!(
        run_with(limits, head, response, &[], eof, 3),
        whole,
        "3-byte data reads: {label:?}"
    );
    for cut in 1..response.len() {
        assert_eq!(
            run_with(limits, head, response, &[cut], eof, usize::MAX),
            whole,
            "split at {cut}: {label:?}"
        );
    }
    whole
}

/// Default limits with some changed (`Limits` is non-exhaustive outside duet-core).
pub fn limits(change: impl FnOnce(&mut Limits)) -> Limits {
    let mut limits = Limits::default();
    change(&mut limits);
    limits
}

/// A challenge/response flow like Digest's shape: nothing first, answers a 401 carrying
/// `X-Challenge: n` or `WWW-Authenticate: n` with `Authorization: Answer n` (wrapped for a
/// proxy, a 407's `Proxy-Authenticate: n` with `Proxy-Authorization: Answer n`). Options for
/// the engine's features.
#[derive(Debug, Clone, Default)]
pub struct Answering {
    pub same_connection: bool,
    pub needs_response_body: bool,
    pub seen_bodies: Arc<Mutex<Vec<String>>>,
}

impl AuthFlow for Answering {
    fn authorize(&mut self, _request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        Ok(())
    }

    fn respond(
        &mut self,
        request: &mut AuthRequest<'_>,
        response: &AuthResponse<'_>,
    ) -> Result<AuthStep, AuthError> {
        if let Some(body) = response.body {
            self.seen_bodies
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(body).into_owned());
        }
        if response.status != 401 {
            return Ok(AuthStep::Done);
        }
        // A proxy's challenge reaches the flow as `WWW-Authenticate` (see `ProxyFlow`).
        let challenge = response.headers.get_str("x-challenge");
        let Some(challenge) = challenge.or_else(|| response.headers.get_str("www-authenticate"))
        else {
            return Ok(AuthStep::Done);
        };
        request
            .headers
            .insert("Authorization", format!("Answer {challenge}"))
            .unwrap();
        Ok(AuthStep::Retry)
    }

    fn needs_response_body(&self) -> bool {
        self.needs_response_body
    }

    fn same_connection(&self) -> bool {
        self.same_connection
    }
}

impl Auth for Answering {
    fn flow(&self, _url: &Url) -> Option<Box<dyn AuthFlow>> {
        Some(Box::new(self.clone()))
    }
}
