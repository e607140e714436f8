use std::time::UNIX_EPOCH;

use super::*;

/// 1994-11-06T08:49:37Z, the example date of RFC 9110 §5.6.7.
const WALL: u64 = 784_111_777;

struct Fixture {
    state: RetryState,
    t0: Instant,
}

impl Fixture {
    fn new(policy: RetryPolicy) -> Self {
        let t0 = crate::test_clock::t0();
        Fixture {
            state: RetryState::new(policy, t0),
            t0,
        }
    }

    /// Decides at `at` after the start, with the wall clock at [`WALL`] + `at`.
    fn decide_at(
        &mut self,
        method: Method,
        replayable: bool,
        attempt: Attempt<'_>,
        at: Duration,
        random: u64,
    ) -> RetryDecision {
        let wall = UNIX_EPOCH + Duration::from_secs(WALL) + at;
        self.state
            .decide(&method, replayable, attempt, self.t0 + at, wall, random)
    }

    fn decide(&mut self, method: Method, attempt: Attempt<'_>) -> RetryDecision {
        self.decide_at(method, true, attempt, Duration::ZERO, u64::MAX)
    }
}

fn error(kind: ErrorKind, request_sent: bool) -> Attempt<'static> {
    Attempt::Error { kind, request_sent }
}

fn response(status: u16, headers: &Headers) -> Attempt<'_> {
    Attempt::Response {
        status: StatusCode::from_u16(status).unwrap(),
        headers,
    }
}

fn retry_after(value: &str) -> Headers {
    let mut headers = Headers::new();
    headers.append("Retry-After", value).unwrap();
    headers
}

/// A policy with exact, unjittered-looking numbers: base 100 ms, cap 1 s, no budget.
fn policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 10,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        total_budget: None,
        ..RetryPolicy::default_safe()
    }
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn defaults() {
    assert_eq!(RetryPolicy::default(), RetryPolicy::none());
    let none = RetryPolicy::none();
    assert_eq!(none.max_retries, 0);
    let mut state = Fixture::new(none);
    assert_eq!(
        state.decide(Method::GET, error(ErrorKind::Connect, false)),
        RetryDecision::GiveUp
    );

    let safe = RetryPolicy::default_safe();
    assert_eq!(safe.max_retries, 3);
    assert!(safe.retry_on_connect_errors && safe.retry_on_timeouts && safe.respect_retry_after);
    assert!(safe.jitter);
    assert_eq!(safe.statuses, [429, 502, 503, 504]);
    let idempotent = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"];
    assert_eq!(
        safe.methods.iter().map(Method::as_str).collect::<Vec<_>>(),
        idempotent
    );
    assert_eq!((safe.backoff_base, safe.backoff_max), (ms(500), ms(30_000)));
    assert_eq!(safe.retry_after_max, Duration::from_secs(60));
    assert_eq!(safe.total_budget, Some(Duration::from_secs(120)));
    // `none` is the safe policy with no retries: raising the count turns the safe rules on.
    assert_eq!(
        RetryPolicy {
            max_retries: 3,
            ..RetryPolicy::none()
        },
        safe
    );
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let policy = policy();
    let delays: Vec<_> = (1..=6).map(|n| policy.backoff(n)).collect();
    assert_eq!(
        delays,
        [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
    );
    assert_eq!(policy.backoff(0), ms(100));
    assert_eq!(policy.backoff(64), ms(1000));
    assert_eq!(policy.backoff(usize::MAX), ms(1000));
    let huge = RetryPolicy {
        backoff_base: Duration::MAX,
        backoff_max: Duration::MAX,
        ..policy.clone()
    };
    assert_eq!(huge.backoff(3), Duration::MAX);

    // With the most entropy the wait is (within a nanosecond) the whole delay.
    let mut state = Fixture::new(policy);
    let waits: Vec<_> = (0..6)
        .map(
            |_| match state.decide(Method::GET, error(ErrorKind::Connect, false)) {
                RetryDecision::RetryAfter(wait) => wait,
                RetryDecision::GiveUp => panic!("gave up"),
            },
        )
        .collect();
    for (wait, delay) in waits.iter().zip(&delays) {
        assert!(*wait <= *delay && *delay - *wait <= Duration::from_nanos(1));
    }
    assert_eq!(state.state.retries(), 6);
}

#[test]
fn jitter_stays_within_zero_and_the_delay() {
    assert_eq!(full_jitter(ms(800), 0), Duration::ZERO);
    assert_eq!(full_jitter(ms(800), u64::MAX), ms(800));
    assert_eq!(full_jitter(ms(800), 1 << 63), ms(400));
    assert_eq!(full_jitter(Duration::ZERO, u64::MAX), Duration::ZERO);
    assert!(full_jitter(Duration::MAX, u64::MAX) <= Duration::MAX);
    // A fixed splitmix64 sequence over several delays: never below 0 or above the delay,
    // and spread over the whole range.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for delay in [Duration::from_nanos(1), ms(1), ms(100), ms(30_000)] {
        let (mut low, mut high) = (delay, Duration::ZERO);
        for _ in 0..1000 {
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            let wait = full_jitter(delay, z ^ (z >> 31));
            assert!(wait <= delay, "{wait:?} > {delay:?}");
            (low, high) = (low.min(wait), high.max(wait));
        }
        assert!(
            low <= delay / 10 && high >= delay * 9 / 10,
            "{low:?}..{high:?}"
        );
    }
}

#[test]
fn without_jitter_every_retry_waits_the_backoff_exactly() {
    // curl's --retry-delay: base and cap the same, no jitter, whatever the entropy.
    let mut fixture = Fixture::new(RetryPolicy {
        jitter: false,
        backoff_base: ms(2_000),
        backoff_max: ms(2_000),
        ..policy()
    });
    for random in [0, 1 << 63, u64::MAX] {
        let at = Duration::ZERO;
        let decision = fixture.decide_at(
            Method::GET,
            true,
            error(ErrorKind::Connect, false),
            at,
            random,
        );
        assert_eq!(decision, RetryDecision::RetryAfter(ms(2_000)));
    }
    // Without the cap it doubles, unjittered.
    let mut fixture = Fixture::new(RetryPolicy {
        jitter: false,
        ..policy()
    });
    let waits: Vec<_> = (0..4)
        .map(|_| {
            fixture.decide_at(
                Method::GET,
                true,
                error(ErrorKind::Connect, false),
                Duration::ZERO,
                0,
            )
        })
        .collect();
    let expected = [100, 200, 400, 800].map(|n| RetryDecision::RetryAfter(ms(n)));
    assert_eq!(waits, expected);
}

#[test]
fn never_more_than_max_retries() {
    let mut state = Fixture::new(RetryPolicy {
        max_retries: 2,
        ..policy()
    });
    let refused = error(ErrorKind::Connect, false);
    assert_eq!(
        state.decide(Method::GET, refused),
        RetryDecision::RetryAfter(ms(100))
    );
    assert_eq!(
        state.decide(Method::GET, refused),
        RetryDecision::RetryAfter(ms(200))
    );
    assert_eq!(state.decide(Method::GET, refused), RetryDecision::GiveUp);
    assert_eq!(state.decide(Method::GET, refused), RetryDecision::GiveUp);
    assert_eq!(state.state.retries(), 2);
    assert_eq!(state.state.policy().max_retries, 2);
}

#[test]
fn retry_after_in_seconds_and_as_http_dates() {
    let mut state = Fixture::new(policy());
    // Exactly what the server asked, without jitter, for 503, 429 and any listed status.
    let headers = retry_after("7");
    for status in [503, 429, 502] {
        assert_eq!(
            state.decide(Method::GET, response(status, &headers)),
            RetryDecision::RetryAfter(Duration::from_secs(7))
        );
    }
    // The HTTP-date formats of RFC 9110 §5.6.7, 20 s after the wall clock, decided 5 s in:
    // 15 s to go.
    for date in [
        "Sun, 06 Nov 1994 08:49:57 GMT",
        "Sunday, 06-Nov-94 08:49:57 GMT",
        "Sun Nov  6 08:49:57 1994",
    ] {
        let headers = retry_after(date);
        assert_eq!(
            state.decide_at(Method::GET, true, response(503, &headers), ms(5000), 0),
            RetryDecision::RetryAfter(Duration::from_secs(15)),
            "{date}"
        );
    }
    // A date already past: retry at once.
    let past = retry_after("Sun, 06 Nov 1994 08:00:00 GMT");
    assert_eq!(
        state.decide(Method::GET, response(503, &past)),
        RetryDecision::RetryAfter(Duration::ZERO)
    );
}

#[test]
fn retry_after_over_the_cap_gives_up() {
    let mut state = Fixture::new(policy());
    let at_cap = retry_after("60");
    assert_eq!(
        state.decide(Method::GET, response(503, &at_cap)),
        RetryDecision::RetryAfter(Duration::from_secs(60))
    );
    for value in [
        "61",
        "3600",
        "99999999999999999999",
        "Sun, 06 Nov 1994 09:49:37 GMT",
    ] {
        let headers = retry_after(value);
        assert_eq!(
            state.decide(Method::GET, response(429, &headers)),
            RetryDecision::GiveUp,
            "{value}"
        );
    }
}

#[test]
fn retry_after_ignored_or_unreadable_means_backoff() {
    let hour = retry_after("3600");
    let mut ignoring = Fixture::new(RetryPolicy {
        respect_retry_after: false,
        ..policy()
    });
    assert_eq!(
        ignoring.decide(Method::GET, response(503, &hour)),
        RetryDecision::RetryAfter(ms(100))
    );
    let mut state = Fixture::new(policy());
    for value in ["soon", "-1", "Sun, 06 Nov 1994 08:49:57 UTC"] {
        let headers = retry_after(value);
        let decision = state.decide_at(Method::GET, true, response(503, &headers), ms(0), 0);
        assert_eq!(
            decision,
            RetryDecision::RetryAfter(Duration::ZERO),
            "{value}"
        );
    }
    let none = Headers::new();
    assert_eq!(
        state.decide(Method::GET, response(504, &none)),
        RetryDecision::RetryAfter(ms(800))
    );
}

#[test]
fn statuses_only_when_listed_and_for_listed_methods() {
    let mut state = Fixture::new(policy());
    let none = Headers::new();
    for status in [200, 404, 413, 500, 501] {
        assert_eq!(
            state.decide(Method::GET, response(status, &none)),
            RetryDecision::GiveUp,
            "{status}"
        );
    }
    assert_eq!(
        state.decide(Method::POST, response(503, &none)),
        RetryDecision::GiveUp
    );
    assert_eq!(
        state.decide(Method::PATCH, response(429, &none)),
        RetryDecision::GiveUp
    );
    assert_eq!(
        state.decide(Method::PUT, response(503, &none)),
        RetryDecision::RetryAfter(ms(100))
    );
    let mut posting = Fixture::new(RetryPolicy {
        methods: vec![Method::POST],
        ..policy()
    });
    assert_eq!(
        posting.decide(Method::POST, response(503, &none)),
        RetryDecision::RetryAfter(ms(100))
    );
    assert_eq!(
        posting.decide(Method::GET, response(503, &none)),
        RetryDecision::GiveUp
    );
}

#[test]
fn post_after_sending_gives_up_but_not_before() {
    let mut state = Fixture::new(policy());
    for kind in [
        ErrorKind::Io,
        ErrorKind::Timeout(TimeoutPhase::ReadHead),
        ErrorKind::Timeout(TimeoutPhase::Write),
    ] {
        assert_eq!(
            state.decide(Method::POST, error(kind, true)),
            RetryDecision::GiveUp
        );
        assert!(matches!(
            state.decide(Method::GET, error(kind, true)),
            RetryDecision::RetryAfter(_)
        ));
        // Nothing went out: safe for any method.
        assert!(matches!(
            state.decide(Method::POST, error(kind, false)),
            RetryDecision::RetryAfter(_)
        ));
    }
    for kind in [
        ErrorKind::Connect,
        ErrorKind::Timeout(TimeoutPhase::Connect),
    ] {
        assert!(matches!(
            state.decide(Method::POST, error(kind, false)),
            RetryDecision::RetryAfter(_)
        ));
    }
    // The client's own connections were busy all along: another wait would stretch the
    // caller's pool timeout.
    let pool = ErrorKind::Timeout(TimeoutPhase::Pool);
    assert_eq!(
        state.decide(Method::GET, error(pool, false)),
        RetryDecision::GiveUp
    );
}

#[test]
fn a_body_that_cannot_be_replayed_is_sent_once() {
    let mut state = Fixture::new(policy());
    let none = Headers::new();
    let once = |state: &mut Fixture, attempt| {
        state.decide_at(Method::PUT, false, attempt, Duration::ZERO, 0)
    };
    assert_eq!(
        once(&mut state, error(ErrorKind::Io, true)),
        RetryDecision::GiveUp
    );
    assert_eq!(
        once(&mut state, error(ErrorKind::Connect, true)),
        RetryDecision::GiveUp
    );
    assert_eq!(
        once(&mut state, response(503, &none)),
        RetryDecision::GiveUp
    );
    // Not a byte of it went out: the body was never read, so it can still go.
    assert_eq!(
        once(&mut state, error(ErrorKind::Connect, false)),
        RetryDecision::RetryAfter(Duration::ZERO)
    );
}

#[test]
fn errors_that_are_never_retried() {
    let mut state = Fixture::new(policy());
    for kind in [
        ErrorKind::Timeout(TimeoutPhase::ReadBody),
        ErrorKind::Timeout(TimeoutPhase::Total),
        ErrorKind::Tls,
        ErrorKind::Protocol,
        ErrorKind::Status(StatusCode::SERVICE_UNAVAILABLE),
        ErrorKind::Decode,
        ErrorKind::Body,
        ErrorKind::InvalidUrl,
        ErrorKind::InvalidHeader,
        ErrorKind::Redirect,
        ErrorKind::TooManyRedirects,
        ErrorKind::Proxy,
        ErrorKind::Auth,
    ] {
        for sent in [false, true] {
            assert_eq!(
                state.decide(Method::GET, error(kind, sent)),
                RetryDecision::GiveUp
            );
        }
    }
    assert_eq!(state.state.retries(), 0);
}

#[test]
fn switches_turn_off_their_errors() {
    let mut no_connect = Fixture::new(RetryPolicy {
        retry_on_connect_errors: false,
        ..policy()
    });
    for attempt in [error(ErrorKind::Connect, false), error(ErrorKind::Io, true)] {
        assert_eq!(
            no_connect.decide(Method::GET, attempt),
            RetryDecision::GiveUp
        );
    }
    let timeout = error(ErrorKind::Timeout(TimeoutPhase::Connect), false);
    assert!(matches!(
        no_connect.decide(Method::GET, timeout),
        RetryDecision::RetryAfter(_)
    ));

    let mut no_timeouts = Fixture::new(RetryPolicy {
        retry_on_timeouts: false,
        ..policy()
    });
    for phase in [
        TimeoutPhase::Pool,
        TimeoutPhase::Connect,
        TimeoutPhase::ReadHead,
    ] {
        let attempt = error(ErrorKind::Timeout(phase), false);
        assert_eq!(
            no_timeouts.decide(Method::GET, attempt),
            RetryDecision::GiveUp
        );
    }
    let refused = error(ErrorKind::Connect, false);
    assert!(matches!(
        no_timeouts.decide(Method::GET, refused),
        RetryDecision::RetryAfter(_)
    ));
}

#[test]
fn the_budget_counts_from_the_first_attempt() {
    let mut state = Fixture::new(RetryPolicy {
        total_budget: Some(Duration::from_secs(10)),
        ..policy()
    });
    let refused = error(ErrorKind::Connect, false);
    // 9.9 s in, a 100 ms backoff ends exactly at the budget: allowed.
    assert_eq!(
        state.decide_at(Method::GET, true, refused, ms(9_900), u64::MAX),
        RetryDecision::RetryAfter(ms(100))
    );
    // 9.9 s in, the next backoff (200 ms) would end past it.
    assert_eq!(
        state.decide_at(Method::GET, true, refused, ms(9_900), u64::MAX),
        RetryDecision::GiveUp
    );
    // Jitter that happens to fit is fine; a Retry-After that does not is not.
    assert_eq!(
        state.decide_at(Method::GET, true, refused, ms(9_900), 0),
        RetryDecision::RetryAfter(Duration::ZERO)
    );
    let headers = retry_after("5");
    assert_eq!(
        state.decide_at(Method::GET, true, response(503, &headers), ms(6_000), 0),
        RetryDecision::GiveUp
    );
    assert_eq!(
        state.decide_at(Method::GET, true, response(503, &headers), ms(4_000), 0),
        RetryDecision::RetryAfter(Duration::from_secs(5))
    );
    // Past the budget already: nothing more.
    assert_eq!(
        state.decide_at(Method::GET, true, refused, ms(10_001), 0),
        RetryDecision::GiveUp
    );
}

#[test]
fn a_wait_the_clock_cannot_hold_gives_up() {
    let mut state = Fixture::new(RetryPolicy {
        backoff_base: Duration::MAX,
        backoff_max: Duration::MAX,
        retry_after_max: Duration::MAX,
        jitter: false,
        ..policy()
    });
    assert_eq!(
        state.decide(Method::GET, error(ErrorKind::Connect, false)),
        RetryDecision::GiveUp
    );
    let huge = retry_after("99999999999999999999");
    assert_eq!(
        state.decide(Method::GET, response(503, &huge)),
        RetryDecision::GiveUp
    );
    assert_eq!(state.state.retries(), 0);
    // A long wait the clock can hold is still a wait.
    let day = retry_after("86400");
    assert_eq!(
        state.decide(Method::GET, response(503, &day)),
        RetryDecision::RetryAfter(Duration::from_secs(86_400))
    );
}
