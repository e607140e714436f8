//! Properties over generated inputs: what duet writes, duet (and httparse) read back the same,
//! however the bytes are split.

mod support;

use duet_core::{Connection, Event, Headers, RequestBody, RequestHead};
use proptest::prelude::*;
use support::{Ev, drain, request, run_with, t0};

/// Sends `chunks` as a chunked request body and returns the bytes on the wire after the head.
fn chunked_wire(chunks: &[Vec<u8>], trailers: &Headers) -> Vec<u8> {
    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Chunked, t0())
        .unwrap();
    let head_len = conn.poll_transmit().unwrap().len();
    conn.advance_transmit(head_len);
    for chunk in chunks {
        conn.send_body(chunk).unwrap();
    }
    conn.send_end(Some(trailers)).unwrap();
    conn.poll_transmit().map(<[u8]>::to_vec).unwrap_or_default()
}

fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}".prop_filter("not a framing or host header", |n| {
        !["host", "content-length", "transfer-encoding"].contains(&n.to_ascii_lowercase().as_str())
    })
}

fn header_value() -> impl Strategy<Value = String> {
    "[ -~\t]{0,20}".prop_map(|v| v.trim_matches([' ', '\t']).to_owned())
}

proptest! {
    #[test]
    fn chunked_bodies_round_trip_at_any_split(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
        trailers in prop::collection::vec((header_name(), header_value()), 0..3),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        max_data in 1usize..64,
    ) {
        let mut trailer_fields = Headers::new();
        for (n, v) in &trailers {
            trailer_fields.append(n, v).unwrap();
        }
        let mut response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        response.extend(chunked_wire(&chunks, &trailer_fields));
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(response.len())).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let got = run_with(&duet_core::Limits::default(), &request("GET", &[]), &response, &cuts, false, max_data);
        prop_assert_eq!(got.error, None);
        let body: Vec<u8> = chunks.concat();
        let mut want = vec![Ev::Response(200, "HTTP/1.1".into(), b"OK".to_vec(), vec![("Transfer-Encoding".into(), "chunked".into())])];
        if !body.is_empty() {
            want.push(Ev::Data(body));
        }
        if !trailers.is_empty() {
            want.push(Ev::Trailers(trailers.iter().map(|(n, v)| (n.clone(), v.clone())).collect()));
        }
        want.push(Ev::End);
        prop_assert_eq!(got.events, want);
        prop_assert!(got.reusable);
    }

    #[test]
    fn request_heads_parse_back_with_httparse(
        path in "/[a-zA-Z0-9/._~%-]{0,30}",
        fields in prop::collection::vec((header_name(), header_value()), 0..10),
        length in prop::option::of(0u64..1_000_000),
    ) {
        let mut head = RequestHead::new(duet_core::Method::PATCH, path.clone()).unwrap();
        for (n, v) in &fields {
            head.headers_mut().append(n, v).unwrap();
        }
        head.headers_mut().append("Host", "h.test").unwrap();
        let mut conn = Connection::default();
        let body = length.map_or(RequestBody::None, RequestBody::Length);
        conn.send_request(&head, body, t0()).unwrap();
        let wire = conn.poll_transmit().unwrap().to_vec();

        let mut slots = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Request::new(&mut slots);
        prop_assert_eq!(parsed.parse(&wire), Ok(httparse::Status::Complete(wire.len())));
        prop_assert_eq!(parsed.method, Some("PATCH"));
        prop_assert_eq!(parsed.path, Some(path.as_str()));
        let got: Vec<(String, Vec<u8>)> = parsed.headers.iter().map(|h| (h.name.to_owned(), h.value.to_vec())).collect();
        let mut want: Vec<(String, Vec<u8>)> = vec![("Host".into(), b"h.test".to_vec())];
        want.extend(fields.iter().map(|(n, v)| (n.clone(), v.clone().into_bytes())));
        if let Some(n) = length {
            want.push(("Content-Length".into(), n.to_string().into_bytes()));
        }
        prop_assert_eq!(got, want, "Host first, then the caller's fields in order and case");
    }

    #[test]
    fn content_length_bodies_arrive_whole(body in prop::collection::vec(any::<u8>(), 0..2000), step in 1usize..500) {
        let mut response = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        response.extend_from_slice(&body);
        let mut conn = Connection::default();
        conn.send_request(&request("GET", &[]), RequestBody::None, t0()).unwrap();
        let n = conn.poll_transmit().unwrap().len();
        conn.advance_transmit(n);
        let mut got = Vec::new();
        let mut events = Vec::new();
        for piece in response.chunks(step) {
            conn.handle_input(piece);
            loop {
                match conn.poll_event_max(step) {
                    Ok(Some(Event::Data(d))) => got.extend_from_slice(d),
                    Ok(Some(_)) => events.push(()),
                    Ok(None) => break,
                    Err(e) => panic!("{e}"),
                }
            }
        }
        prop_assert_eq!(got, body);
        prop_assert_eq!(events.len(), 2);
        let mut rest = Vec::new();
        prop_assert_eq!(drain(&mut conn, &mut rest, usize::MAX), None);
        prop_assert!(conn.is_reusable());
    }
}
