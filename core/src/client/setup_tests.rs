use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use super::*;
use url::Url;

/// The paths a reader was asked for, in order.
type Log = std::rc::Rc<std::cell::RefCell<Vec<PathBuf>>>;

/// A file system of `files`, recording every path read.
fn files(files: &[(&str, &str)]) -> (impl FnMut(&Path) -> io::Result<Vec<u8>>, Log) {
    let files: HashMap<PathBuf, Vec<u8>> = files
        .iter()
        .map(|(p, c)| (PathBuf::from(p), c.as_bytes().to_vec()))
        .collect();
    let read = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = read.clone();
    let reader = move |path: &Path| {
        log.borrow_mut().push(path.to_path_buf());
        files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    };
    (reader, read)
}

fn env(vars: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    vars.iter().map(|(k, v)| (k.into(), v.into())).collect()
}

fn with_netrc(path: Option<&str>) -> ClientConfig {
    ClientConfig {
        netrc: Some(path.map(PathBuf::from)),
        ..ClientConfig::default()
    }
}

const NETRC: &str = "machine example.com login u password p\n";

#[test]
fn proxies_come_from_the_environment_unless_configured() {
    let (mut read, _) = files(&[]);
    let vars = env(&[("https_proxy", "http://p:3128"), ("HOME", "/nowhere")]);
    let settled = settle(ClientConfig::default(), vars.clone(), &mut read).unwrap();
    let url = crate::Url::parse("https://example.com/").unwrap();
    assert_eq!(
        settled.config.proxies.unwrap().select(&url).unwrap().host(),
        "p"
    );
    let direct = ClientConfig {
        proxies: Some(ProxyConfig::none()),
        ..ClientConfig::default()
    };
    let settled = settle(direct, vars, &mut read).unwrap();
    assert!(settled.config.proxies.unwrap().is_direct());
}

#[test]
fn netrc_locations_in_order() {
    // An explicit path beats $NETRC, which beats $HOME/.netrc.
    let (mut read, log) = files(&[("/given", NETRC), ("/env", NETRC), ("/home/.netrc", NETRC)]);
    let vars = env(&[("NETRC", "/env"), ("HOME", "/home")]);
    for (config, expected) in [
        (with_netrc(Some("/given")), "/given"),
        (with_netrc(None), "/env"),
    ] {
        let settled = settle(config, vars.clone(), &mut read).unwrap();
        assert!(settled.config.auth.is_some());
        assert_eq!(log.borrow_mut().pop().unwrap(), PathBuf::from(expected));
    }
    let settled = settle(with_netrc(None), env(&[("HOME", "/home")]), &mut read).unwrap();
    assert!(settled.config.auth.is_some());
    assert_eq!(
        log.borrow_mut().pop().unwrap(),
        PathBuf::from("/home/.netrc")
    );
    // Not asked for: nothing is read.
    settle(ClientConfig::default(), vars, &mut read).unwrap();
    assert!(log.borrow().is_empty(), "{:?}", log.borrow());
}

#[test]
fn a_missing_default_netrc_is_no_credentials_but_a_named_one_is_an_error() {
    let (mut read, _) = files(&[]);
    let settled = settle(with_netrc(None), env(&[("HOME", "/home")]), &mut read).unwrap();
    assert!(settled.config.auth.is_none());
    let settled = settle(with_netrc(None), env(&[]), &mut read).unwrap();
    assert!(settled.config.auth.is_none(), "no HOME, no file to read");
    for (config, vars) in [
        (with_netrc(Some("/given")), env(&[])),
        (with_netrc(None), env(&[("NETRC", "/env")])),
    ] {
        let err = settle(config, vars, &mut read).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    }
}

#[test]
fn a_malformed_netrc_is_an_error_naming_the_file() {
    let (mut read, _) = files(&[("/home/.netrc", "machine a.test login\n")]);
    let err = settle(with_netrc(None), env(&[("HOME", "/home")]), &mut read).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("/home/.netrc"), "{err}");
}

#[test]
fn configured_credentials_beat_netrc() {
    let (mut read, _) = files(&[("/given", NETRC)]);
    let basic: Arc<dyn crate::auth::Auth> =
        Arc::new(crate::auth::BasicAuth::new("a", "b").unwrap());
    let config = ClientConfig {
        auth: Some(basic.clone()),
        ..with_netrc(Some("/given"))
    };
    let settled = settle(config, env(&[]), &mut read).unwrap();
    assert!(Arc::ptr_eq(&settled.config.auth.unwrap(), &basic));
}

#[test]
fn ssl_cert_file_is_named_when_set_and_enabled_and_not_read_yet() {
    let (mut read, reads) = files(&[("/ca.pem", "PEM")]);
    let vars = env(&[("SSL_CERT_FILE", "/ca.pem")]);
    let settled = settle(ClientConfig::default(), vars.clone(), &mut read).unwrap();
    assert_eq!(settled.ssl_cert_file.as_deref(), Some(Path::new("/ca.pem")));
    let mut off = ClientConfig::default();
    off.tls.ssl_cert_file = false;
    assert!(
        settle(off, vars, &mut read)
            .unwrap()
            .ssl_cert_file
            .is_none()
    );
    assert!(
        settle(ClientConfig::default(), env(&[]), &mut read)
            .unwrap()
            .ssl_cert_file
            .is_none()
    );
    assert!(
        settle(
            ClientConfig::default(),
            env(&[("SSL_CERT_FILE", "")]),
            &mut read
        )
        .unwrap()
        .ssl_cert_file
        .is_none(),
        "an empty variable counts as unset"
    );
    // A missing file is not an error yet: it is read at the first TLS connection.
    let settled = settle(
        ClientConfig::default(),
        env(&[("SSL_CERT_FILE", "/missing.pem")]),
        &mut read,
    )
    .unwrap();
    assert_eq!(
        settled.ssl_cert_file.as_deref(),
        Some(Path::new("/missing.pem"))
    );
    drop(read);
    assert!(
        reads.borrow().is_empty(),
        "nothing was read: {:?}",
        reads.borrow()
    );
}

#[test]
fn sslkeylogfile_is_named_when_set_and_enabled() {
    let (mut read, reads) = files(&[]);
    let vars = env(&[("SSLKEYLOGFILE", "/tmp/keys.log")]);
    let settled = settle(ClientConfig::default(), vars.clone(), &mut read).unwrap();
    assert_eq!(
        settled.ssl_key_log_file.as_deref(),
        Some(Path::new("/tmp/keys.log"))
    );
    let mut off = ClientConfig::default();
    off.tls.ssl_key_log_file = false;
    assert!(
        settle(off, vars, &mut read)
            .unwrap()
            .ssl_key_log_file
            .is_none()
    );
    for unset in [env(&[]), env(&[("SSLKEYLOGFILE", "")])] {
        let settled = settle(ClientConfig::default(), unset, &mut read).unwrap();
        assert!(settled.ssl_key_log_file.is_none());
    }
    drop(read);
    assert!(reads.borrow().is_empty(), "the core opens no file");
}

#[test]
fn without_trust_in_the_environment_only_an_asked_for_netrc_reads_it() {
    let (mut read, _) = files(&[("/home/ada/.netrc", "machine h.test login ada password pw")]);
    let vars = env(&[
        ("http_proxy", "http://proxy.test:3128"),
        ("SSL_CERT_FILE", "/ca.pem"),
        ("SSLKEYLOGFILE", "/keys.log"),
        ("HOME", "/home/ada"),
    ]);
    let trusting = settle(ClientConfig::default(), vars.clone(), &mut read).unwrap();
    let url = Url::parse("http://h.test/").unwrap();
    assert!(trusting.config.proxies.unwrap().select(&url).is_some());
    assert!(trusting.ssl_cert_file.is_some() && trusting.ssl_key_log_file.is_some());
    let config = ClientConfig {
        trust_env: false,
        ..with_netrc(None)
    };
    let settled = settle(config, vars, &mut read).unwrap();
    assert!(
        settled.config.proxies.unwrap().select(&url).is_none(),
        "no proxy from the environment"
    );
    assert!(settled.ssl_cert_file.is_none() && settled.ssl_key_log_file.is_none());
    assert!(
        settled.config.auth.is_some(),
        "the netrc asked for is found through $HOME"
    );
}

#[test]
fn ssl_cert_dir_names_its_directories_when_set_and_enabled() {
    let (mut read, reads) = files(&[]);
    let vars = env(&[("SSL_CERT_DIR", "/etc/certs:/opt/certs::")]);
    let settled = settle(ClientConfig::default(), vars.clone(), &mut read).unwrap();
    assert_eq!(
        settled.ssl_cert_dirs,
        [PathBuf::from("/etc/certs"), PathBuf::from("/opt/certs")]
    );
    let mut off = ClientConfig::default();
    off.tls.ssl_cert_file = false;
    assert!(
        settle(off, vars, &mut read)
            .unwrap()
            .ssl_cert_dirs
            .is_empty()
    );
    let unset = settle(ClientConfig::default(), env(&[]), &mut read).unwrap();
    assert!(unset.ssl_cert_dirs.is_empty());
    drop(read);
    assert!(
        reads.borrow().is_empty(),
        "nothing is read before the first TLS connection"
    );
}

#[test]
fn a_connection_cap_of_zero_is_refused_and_one_is_not() {
    let settled = |per_host: Option<usize>, in_all: Option<usize>| {
        let mut config = ClientConfig::default();
        config.pool.max_connections_per_host = per_host;
        config.pool.max_connections = in_all;
        settle(config, env(&[]), &mut files(&[]).0)
    };
    for (per_host, in_all) in [(Some(0), None), (None, Some(0)), (Some(0), Some(0))] {
        let error = settled(per_host, in_all).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Connect);
        assert!(error.to_string().contains("a cap of 0"), "{error}");
    }
    assert!(settled(Some(1), Some(1)).is_ok());
    assert!(settled(None, None).is_ok());
}
