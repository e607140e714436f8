//! A resolver of the caller's own (`dns_resolver`): which names it is asked for, how its
//! answers, errors and delays reach the request. [`Table`] is one resolver for both
//! flavours: it answers from a table of names and notes every name it is asked for.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use duet_tests::server::*;

/// What a [`Table`] answers for a name.
#[derive(Debug, Clone)]
pub enum Answer {
    /// These addresses.
    Addrs(Vec<IpAddr>),
    /// An error with this message.
    Fails(&'static str),
}

/// A resolver answering from a table, after `delay`; a name not in it is an error. Clones
/// share the names asked and the count of answers given.
#[derive(Debug, Clone, Default)]
pub struct Table {
    answers: HashMap<String, Answer>,
    delay: Duration,
    asked: Arc<Mutex<Vec<String>>>,
    answered: Arc<AtomicUsize>,
}

impl Table {
    /// A table with `name` answered by `answer`.
    pub fn with(mut self, name: &str, answer: Answer) -> Self {
        self.answers.insert(name.to_owned(), answer);
        self
    }

    /// The loopback address for `name`.
    pub fn loopback(self, name: &str) -> Self {
        self.with(name, Answer::Addrs(vec!["127.0.0.1".parse().unwrap()]))
    }

    /// The table answering only after `delay`.
    pub fn slow(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The names asked so far, in order.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }

    /// How many answers it has given (after its delay).
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    fn ask(&self, host: &str) {
        self.asked.lock().unwrap().push(host.to_owned());
    }

    fn answer(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self.answered.fetch_add(1, Ordering::SeqCst);
        match self.answers.get(host) {
            Some(Answer::Addrs(addrs)) => Ok(addrs.clone()),
            Some(Answer::Fails(message)) => Err(io::Error::other(*message)),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} is not in the table"),
            )),
        }
    }
}

impl duet_blocking::Resolve for Table {
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self.ask(host);
        std::thread::sleep(self.delay);
        self.answer(host)
    }
}

#[duet_async::async_trait]
impl duet_async::Resolve for Table {
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self.ask(host);
        tokio::time::sleep(self.delay).await;
        self.answer(host)
    }
}

duet_tests::conformance! {
    fn a_resolver_of_the_callers_own_finds_the_address_a_name_is_connected_to() {
        let server = Server::http(|req| Reply::ok(req.header_str("host").unwrap_or("-")));
        let table = Table::default().loopback("svc.test");
        let client = duet::Client::builder().dns_resolver(Arc::new(table.clone())).build().unwrap();
        let url = format!("http://Svc.Test:{}/", server.port());
        let response = wait!(client.get(&url).send()).unwrap();
        assert_eq!(response.remote_addr(), Some(server.addr()), "connected at the URL's port");
        assert_eq!(wait!(response.text()).unwrap(), format!("svc.test:{}", server.port()));
        assert_eq!(table.asked(), ["svc.test"]);
    }

    fn the_resolver_is_not_asked_for_an_ip_address_localhost_or_a_name_fixed_by_resolve() {
        let server = Server::http(|_| Reply::ok("here"));
        // A table with no names: any question fails the request.
        let table = Table::default();
        // (Connecting from 127.0.0.1 leaves the IPv4 loopback only: `::1`, tried first
        // otherwise, is no test server's address.)
        let client = duet::Client::builder()
            .dns_resolver(Arc::new(table.clone()))
            .resolve("fixed.test", server.addr())
            .local_address(std::net::IpAddr::from([127, 0, 0, 1]))
            .build()
            .unwrap();
        for host in ["127.0.0.1", "localhost", "app.localhost", "fixed.test"] {
            let url = format!("http://{host}:{}/", server.port());
            let response = wait!(client.get(&url).send()).unwrap_or_else(|e| panic!("{host}: {e}"));
            assert_eq!(wait!(response.text()).unwrap(), "here", "{host}");
        }
        assert_eq!(table.asked(), Vec::<String>::new());
    }

    fn the_resolvers_error_or_empty_answer_is_a_connect_error() {
        let table = Table::default()
            .with("gone.test", Answer::Fails("no such host in this test"))
            .with("empty.test", Answer::Addrs(vec![]));
        let client = duet::Client::builder().dns_resolver(Arc::new(table.clone())).build().unwrap();
        let err = wait!(client.get("http://gone.test/").send()).unwrap_err();
        assert!(err.is_connect(), "{err}");
        assert_eq!(err.timeout_phase(), None, "{err}");
        assert!(format!("{err:#}").contains("no such host in this test"), "{err:#}");
        let err = wait!(client.get("http://empty.test/").send()).unwrap_err();
        assert!(err.is_connect(), "{err}");
        assert!(err.to_string().contains("no address found for empty.test"), "{err}");
        assert_eq!(table.asked(), ["gone.test", "empty.test"]);
    }

    fn a_resolver_slower_than_the_connect_timeout_is_a_connect_timeout() {
        let server = Server::http(|_| Reply::ok("too late"));
        let table = Table::default().loopback("slow.test").slow(Duration::from_secs(30));
        let client = duet::Client::builder()
            .dns_resolver(Arc::new(table.clone()))
            .connect_timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let url = format!("http://slow.test:{}/", server.port());
        let err = wait!(client.get(&url).send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::Connect), "{err}");
        assert_eq!(table.asked(), ["slow.test"]);
        assert_eq!(table.answered(), 0, "the request gave up while the lookup ran");
        assert!(server.requests().is_empty());
    }

    fn a_proxy_named_in_the_proxy_url_is_looked_up_by_the_resolver_and_the_origin_is_not() {
        let proxy = Server::http(|req| Reply::ok(req.target.clone()));
        let table = Table::default().loopback("proxy.test");
        let client = duet::Client::builder()
            .proxy(&format!("http://proxy.test:{}", proxy.port()))
            .dns_resolver(Arc::new(table.clone()))
            .build()
            .unwrap();
        let response = wait!(client.get("http://origin.test/page").send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "http://origin.test/page");
        assert_eq!(table.asked(), ["proxy.test"], "the proxy resolves the origin");
    }
}
