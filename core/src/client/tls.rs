//! rustls client configurations from [`TlsSettings`] (feature `rustls`).
//!
//! Only configuration is built here; handshakes run in the drivers. Reading certificate files
//! and the operating system's store is I/O, so the drivers load those and pass them in.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::config::{TlsSettings, TlsVersion};
use super::error::{Error, ErrorKind};

/// Trust anchors the driver loaded from the system.
#[derive(Debug, Default)]
pub struct LoadedRoots {
    /// The contents of the file named by `SSL_CERT_FILE`, when set and enabled.
    pub ssl_cert_file_pem: Option<Vec<u8>>,
    /// The certificates found in the files of the directories `SSL_CERT_DIR` names, when set
    /// and enabled (files without one are skipped, as OpenSSL does).
    pub ssl_cert_dir: Vec<CertificateDer<'static>>,
    /// The operating system's roots (DER), when enabled.
    pub native: Vec<CertificateDer<'static>>,
}

fn tls_error(message: impl Into<String>) -> Error {
    Error::msg(ErrorKind::Tls, message)
}

fn pem_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    match certs {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(tls_error(format!("no certificate found in the {what} PEM"))),
        Err(e) => Err(tls_error(format!("invalid {what} PEM: {e}"))),
    }
}

/// The rustls configuration for `settings`: roots, verification, client identity, ALPN
/// `http/1.1`, with the ring provider. Fails with [`ErrorKind::Tls`] on unusable PEM.
pub fn rustls_config(
    settings: &TlsSettings,
    loaded: &LoadedRoots,
) -> Result<Arc<rustls::ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    if settings.webpki_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for cert in loaded.native.iter().chain(&loaded.ssl_cert_dir) {
        // The system store may hold certificates webpki cannot parse; skip those as curl does.
        let _ = roots.add(cert.clone());
    }
    if let Some(pem) = &loaded.ssl_cert_file_pem {
        for cert in pem_certs(pem, "SSL_CERT_FILE")? {
            roots
                .add(cert)
                .map_err(|e| tls_error(format!("SSL_CERT_FILE certificate rejected: {e}")))?;
        }
    }
    for pem in &settings.extra_roots_pem {
        for cert in pem_certs(pem, "root certificate")? {
            roots
                .add(cert)
                .map_err(|e| tls_error(format!("root certificate rejected: {e}")))?;
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&protocol_versions(settings)?)
        .map_err(|e| tls_error(e.to_string()))?
        .with_root_certificates(roots);
    let mut config = match &settings.client_identity_pem {
        Some((chain, key)) => {
            let chain = pem_certs(chain, "client certificate")?;
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| tls_error(format!("invalid client key PEM: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| tls_error(format!("client identity rejected: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    if !settings.verify {
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)));
    }
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The rustls protocol versions between `settings`' bounds; a TLS error when none is left
/// (a minimum above the maximum).
fn protocol_versions(
    settings: &TlsSettings,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, Error> {
    let min = settings.min_version.unwrap_or(TlsVersion::Tls1_2);
    let max = settings.max_version.unwrap_or(TlsVersion::Tls1_3);
    let versions: Vec<_> = [
        (TlsVersion::Tls1_2, &rustls::version::TLS12),
        (TlsVersion::Tls1_3, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(version, _)| (min..=max).contains(version))
    .map(|(_, supported)| supported)
    .collect();
    if versions.is_empty() {
        let message = format!("no TLS version is both at least {min:?} and at most {max:?}");
        return Err(tls_error(message));
    }
    Ok(versions)
}

/// A client's two rustls configurations, built at their first use: the one its
/// [`TlsSettings`] describe, and the same with verification the other way (for requests that
/// ask for it). A client that only speaks plain http never loads a root certificate.
///
/// The caller's own PEM (extra roots, client identity) is checked when this is made, so a bad
/// one fails `ClientBuilder::build`; the system's roots (`SSL_CERT_FILE`, the operating
/// system's store) are loaded at first use, and a failure there fails that request (and every
/// later one needing the same configuration) with [`ErrorKind::Tls`].
#[derive(Debug)]
pub struct LazyTls {
    settings: TlsSettings,
    ssl_cert_file: Option<PathBuf>,
    /// The directories of certificates `SSL_CERT_DIR` names.
    ssl_cert_dirs: Vec<PathBuf>,
    /// Whether connections log their secrets (`SSLKEYLOGFILE`).
    key_log: bool,
    profile: u64,
    /// As configured, then flipped; a failure is kept as its message.
    built: [OnceLock<Result<Arc<rustls::ClientConfig>, String>>; 2],
}

/// The driver's I/O for [`LazyTls::config`].
pub struct RootLoaders<'a> {
    /// Reads a file (the `SSL_CERT_FILE` bundle).
    pub read_file: &'a mut dyn FnMut(&Path) -> io::Result<Vec<u8>>,
    /// The certificates in the files of a directory (`SSL_CERT_DIR`'s), as
    /// `rustls_native_certs::load_certs_from_paths` finds them; an error when the directory
    /// cannot be listed.
    pub cert_dir: &'a mut dyn FnMut(&Path) -> io::Result<Vec<CertificateDer<'static>>>,
    /// Loads the operating system's roots (called only when `native_roots` is on).
    pub native: &'a mut dyn FnMut() -> Vec<CertificateDer<'static>>,
    /// Opens the key log `SSLKEYLOGFILE` names (called only when
    /// [`LazyTls::with_key_log`] turned it on), as `rustls::KeyLogFile::new` does.
    pub key_log: &'a mut dyn FnMut() -> Arc<dyn rustls::KeyLog>,
}

impl std::fmt::Debug for RootLoaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Four functions of the driver's: nothing to show but that they are there.
        f.debug_struct("RootLoaders").finish_non_exhaustive()
    }
}

/// Numbers every [`LazyTls`]'s pair of configurations, so connections made with different
/// ones are never shared (0 is left for plain http).
static PROFILES: AtomicU64 = AtomicU64::new(1);

impl LazyTls {
    /// Configurations for `settings`, trusting also the PEM bundle at `ssl_cert_file` (from
    /// `settle`), with two pool profiles no other `LazyTls` has. Fails with
    /// [`ErrorKind::Tls`] when the caller's extra roots or client identity are unusable.
    pub fn new(settings: TlsSettings, ssl_cert_file: Option<PathBuf>) -> Result<Self, Error> {
        protocol_versions(&settings)?;
        for pem in &settings.extra_roots_pem {
            pem_certs(pem, "root certificate")?;
        }
        if let Some((chain, key)) = &settings.client_identity_pem {
            pem_certs(chain, "client certificate")?;
            PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| tls_error(format!("invalid client key PEM: {e}")))?;
        }
        Ok(LazyTls {
            settings,
            ssl_cert_file,
            ssl_cert_dirs: Vec::new(),
            key_log: false,
            profile: PROFILES.fetch_add(2, Ordering::Relaxed),
            built: [OnceLock::new(), OnceLock::new()],
        })
    }

    /// The settings as configured.
    pub fn settings(&self) -> &TlsSettings {
        &self.settings
    }

    /// Whether a request asking for `verify` (if it asks) needs the flipped configuration.
    pub fn flips(&self, verify: Option<bool>) -> bool {
        verify.is_some_and(|verify| verify != self.settings.verify)
    }

    /// The pool profile of the configuration (as configured, or `flipped`): connections made
    /// with different configurations are never shared.
    pub fn profile(&self, flipped: bool) -> u64 {
        self.profile + u64::from(flipped)
    }

    /// The configuration (as configured, or `flipped`) if it was built already.
    pub fn built(&self, flipped: bool) -> Option<Result<Arc<rustls::ClientConfig>, Error>> {
        let built = self.built[usize::from(flipped)].get()?;
        Some(built.clone().map_err(tls_error))
    }

    /// These configurations trusting also the certificates in the files of `dirs` (from
    /// `Settled::ssl_cert_dirs`), read at first use.
    pub fn with_cert_dirs(mut self, dirs: Vec<PathBuf>) -> Self {
        self.ssl_cert_dirs = dirs;
        self
    }

    /// These configurations with connections logging their secrets to the key log
    /// (`Settled::ssl_key_log_file` is set): the driver opens it through
    /// [`RootLoaders::key_log`].
    pub fn with_key_log(mut self, on: bool) -> Self {
        self.key_log = on;
        self
    }

    /// Whether building a configuration reads the system's roots (the `SSL_CERT_FILE` bundle,
    /// the `SSL_CERT_DIR` directories or the operating system's store) or opens the key log:
    /// file I/O, which an async driver keeps off its runtime's threads.
    pub fn loads_system_roots(&self) -> bool {
        self.ssl_cert_file.is_some()
            || !self.ssl_cert_dirs.is_empty()
            || self.settings.native_roots
            || self.key_log
    }

    /// The configuration (as configured, or `flipped`), built now if this is its first use.
    pub fn config(
        &self,
        flipped: bool,
        loaders: RootLoaders<'_>,
    ) -> Result<Arc<rustls::ClientConfig>, Error> {
        let built = self.built[usize::from(flipped)].get_or_init(|| {
            let ssl_cert_file_pem = match &self.ssl_cert_file {
                Some(path) => Some(
                    (loaders.read_file)(path)
                        .map_err(|e| format!("SSL_CERT_FILE {}: {e}", path.display()))?,
                ),
                None => None,
            };
            let mut ssl_cert_dir = Vec::new();
            for dir in &self.ssl_cert_dirs {
                let certs = (loaders.cert_dir)(dir)
                    .map_err(|e| format!("SSL_CERT_DIR {}: {e}", dir.display()))?;
                ssl_cert_dir.extend(certs);
            }
            let roots = LoadedRoots {
                ssl_cert_file_pem,
                ssl_cert_dir,
                native: match self.settings.native_roots {
                    true => (loaders.native)(),
                    false => Vec::new(),
                },
            };
            let mut settings = self.settings.clone();
            settings.verify ^= flipped;
            let mut config = rustls_config(&settings, &roots)
                .map_err(|e| e.message().map_or_else(|| e.to_string(), str::to_owned))?;
            if self.key_log {
                Arc::make_mut(&mut config).key_log = (loaders.key_log)();
            }
            Ok(config)
        });
        built.clone().map_err(tls_error)
    }
}

/// The verifier behind `TlsSettings::verify = false`: any certificate and name is accepted,
/// but handshake signatures are still checked so the session keys are sound.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS server name for `host`: a DNS name, or an IP address (which rustls sends no SNI
/// for, RFC 6066 §3).
pub fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_owned())
        .map_err(|_| tls_error(format!("{host:?} is not a valid TLS server name")))
}

/// Whether a TLS connection at rest holds nothing its server sent, for the check before it is
/// reused: no decrypted bytes waiting to be read, no close_notify, and no record read from
/// the socket but not yet opened (opening it here). A read that stopped at the end of an
/// answer leaves what came after it in the same record inside rustls, where a look at the
/// socket cannot see it; the next request would take it for its answer. (The socket beneath
/// must be checked too: this sees only what TLS has already read.)
pub fn tls_is_quiet(conn: &mut rustls::ClientConnection) -> bool {
    match conn.process_new_packets() {
        Ok(state) => state.plaintext_bytes_to_read() == 0 && !state.peer_has_closed(),
        Err(_) => false,
    }
}

/// A TLS failure in words for the error a request fails with: rustls's own text, and before
/// it what a certificate failure means for someone who is not reading rustls's variants (its
/// text names some only by their identifiers, such as `UnknownIssuer`).
pub fn describe_tls_error(error: &rustls::Error) -> String {
    use rustls::CertificateError as Cert;
    let rustls::Error::InvalidCertificate(cert) = error else {
        return error.to_string();
    };
    let meaning = match cert {
        Cert::UnknownIssuer => {
            "the server's certificate was not issued by a CA this client trusts; adding that \
             CA's certificate as a root trusts it"
        }
        Cert::BadSignature => "a signature in the server's certificate chain does not verify",
        Cert::Revoked => "the server's certificate was revoked",
        Cert::BadEncoding => "the server's certificate is malformed",
        Cert::UnhandledCriticalExtension => {
            "the server's certificate has a critical extension this client does not know"
        }
        // webpki's error, which rustls passes on as `Other`.
        Cert::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
            "the server presented a CA certificate as its own: verification wants one issued \
             for the server by a CA, not a CA's own certificate, which self-signed \
             certificates made for testing often are"
        }
        _ => return error.to_string(),
    };
    format!("{meaning} ({error})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_build_and_bad_pem_is_a_tls_error() {
        let config = rustls_config(&TlsSettings::default(), &LoadedRoots::default()).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
        let settings = TlsSettings {
            extra_roots_pem: vec![b"not pem".to_vec()],
            ..TlsSettings::default()
        };
        let err = rustls_config(&settings, &LoadedRoots::default()).unwrap_err();
        assert!(err.is_tls(), "{err}");
        let loaded = LoadedRoots {
            ssl_cert_file_pem: Some(b"garbage".to_vec()),
            ..LoadedRoots::default()
        };
        assert!(
            rustls_config(&TlsSettings::default(), &loaded)
                .unwrap_err()
                .to_string()
                .contains("SSL_CERT_FILE")
        );
    }

    #[test]
    fn lazy_configurations_are_built_once_at_first_use() {
        let (mut reads, mut natives) = (0, 0);
        let tls = LazyTls::new(TlsSettings::default(), Some(PathBuf::from("/roots.pem"))).unwrap();
        let other = LazyTls::new(TlsSettings::default(), None).unwrap();
        let profiles = [tls.profile(false), tls.profile(true)];
        assert_eq!(profiles[1], profiles[0] + 1);
        let others = [other.profile(false), other.profile(true)];
        assert!(profiles.iter().all(|p| *p != 0 && !others.contains(p)));
        assert!(!tls.flips(None) && !tls.flips(Some(true)) && tls.flips(Some(false)));
        let mut get = |flipped: bool| {
            tls.config(
                flipped,
                RootLoaders {
                    cert_dir: &mut |_| unreachable!("no SSL_CERT_DIR"),
                    read_file: &mut |path| {
                        reads += 1;
                        Err(io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("{} is missing", path.display()),
                        ))
                    },
                    native: &mut || {
                        natives += 1;
                        Vec::new()
                    },
                    key_log: &mut || unreachable!("no SSLKEYLOGFILE"),
                },
            )
        };
        for _ in 0..2 {
            let err = get(false).unwrap_err();
            assert!(err.is_tls(), "{err}");
            assert!(
                err.to_string().contains("SSL_CERT_FILE /roots.pem"),
                "{err}"
            );
            assert!(!err.to_string().contains("TLS error: TLS error"), "{err}");
        }
        get(true).unwrap_err();
        assert_eq!(
            (reads, natives),
            (2, 0),
            "once per configuration, no OS store"
        );

        let settings = TlsSettings {
            native_roots: true,
            ..TlsSettings::default()
        };
        let tls = LazyTls::new(settings, None).unwrap();
        let mut calls = 0;
        let mut get = |flipped: bool| {
            tls.config(
                flipped,
                RootLoaders {
                    read_file: &mut |_| unreachable!("no SSL_CERT_FILE"),
                    cert_dir: &mut |_| unreachable!("no SSL_CERT_DIR"),
                    native: &mut || {
                        calls += 1;
                        Vec::new()
                    },
                    key_log: &mut || unreachable!("no SSLKEYLOGFILE"),
                },
            )
            .unwrap()
        };
        let (a, b, c) = (get(false), get(false), get(true));
        assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &c));
        assert_eq!(calls, 2);
        assert!(
            !a.key_log.will_log("CLIENT_RANDOM"),
            "no key log unless asked"
        );
    }

    #[test]
    fn ssl_cert_dirs_are_each_loaded_once_and_one_that_cannot_be_listed_is_named() {
        let tls = LazyTls::new(TlsSettings::default(), None)
            .unwrap()
            .with_cert_dirs(vec![PathBuf::from("/certs"), PathBuf::from("/gone")]);
        assert!(tls.loads_system_roots(), "listing a directory is file I/O");
        let mut listed = Vec::new();
        let mut get = |flipped: bool| {
            tls.config(
                flipped,
                RootLoaders {
                    read_file: &mut |_| unreachable!("no SSL_CERT_FILE"),
                    cert_dir: &mut |dir| {
                        listed.push(dir.to_owned());
                        match dir == Path::new("/certs") {
                            true => Ok(Vec::new()),
                            false => Err(io::ErrorKind::NotFound.into()),
                        }
                    },
                    native: &mut || unreachable!("no OS store"),
                    key_log: &mut || unreachable!("no SSLKEYLOGFILE"),
                },
            )
        };
        for _ in 0..2 {
            let err = get(false).unwrap_err();
            assert!(err.is_tls(), "{err}");
            assert!(err.to_string().contains("SSL_CERT_DIR /gone"), "{err}");
        }
        assert_eq!(
            listed,
            [PathBuf::from("/certs"), PathBuf::from("/gone")],
            "once, in order"
        );
    }

    #[test]
    fn a_key_log_is_opened_once_per_configuration_when_asked() {
        #[derive(Debug)]
        struct Logs;
        impl rustls::KeyLog for Logs {
            fn log(&self, _: &str, _: &[u8], _: &[u8]) {}
            fn will_log(&self, _: &str) -> bool {
                true
            }
        }
        let tls = LazyTls::new(TlsSettings::default(), None)
            .unwrap()
            .with_key_log(true);
        assert!(tls.loads_system_roots(), "opening the key log is file I/O");
        let mut opened = 0;
        let mut get = |flipped: bool| {
            tls.config(
                flipped,
                RootLoaders {
                    read_file: &mut |_| unreachable!("no SSL_CERT_FILE"),
                    cert_dir: &mut |_| unreachable!("no SSL_CERT_DIR"),
                    native: &mut || unreachable!("no OS store"),
                    key_log: &mut || {
                        opened += 1;
                        Arc::new(Logs)
                    },
                },
            )
            .unwrap()
        };
        let (a, _, c) = (get(false), get(false), get(true));
        assert!(a.key_log.will_log("CLIENT_RANDOM") && c.key_log.will_log("CLIENT_RANDOM"));
        assert_eq!(opened, 2);
    }

    #[test]
    fn the_versions_offered_lie_between_the_bounds() {
        let names = |settings: &TlsSettings| -> Vec<_> {
            let versions = protocol_versions(settings).unwrap();
            versions.iter().map(|v| v.version).collect()
        };
        let tls12 = rustls::ProtocolVersion::TLSv1_2;
        let tls13 = rustls::ProtocolVersion::TLSv1_3;
        assert_eq!(names(&TlsSettings::default()), [tls12, tls13]);
        let only_13 = TlsSettings {
            min_version: Some(TlsVersion::Tls1_3),
            ..TlsSettings::default()
        };
        assert_eq!(names(&only_13), [tls13]);
        let only_12 = TlsSettings {
            max_version: Some(TlsVersion::Tls1_2),
            ..TlsSettings::default()
        };
        assert_eq!(names(&only_12), [tls12]);
        let none = TlsSettings {
            min_version: Some(TlsVersion::Tls1_3),
            max_version: Some(TlsVersion::Tls1_2),
            ..TlsSettings::default()
        };
        let err = protocol_versions(&none).unwrap_err();
        assert!(
            err.is_tls() && err.to_string().contains("no TLS version"),
            "{err}"
        );
    }

    #[test]
    fn the_callers_own_pem_is_checked_when_the_client_is_built() {
        for settings in [
            TlsSettings {
                extra_roots_pem: vec![b"not pem".to_vec()],
                ..TlsSettings::default()
            },
            TlsSettings {
                client_identity_pem: Some((b"no chain".to_vec(), b"no key".to_vec())),
                ..TlsSettings::default()
            },
            TlsSettings {
                min_version: Some(TlsVersion::Tls1_3),
                max_version: Some(TlsVersion::Tls1_2),
                ..TlsSettings::default()
            },
        ] {
            assert!(LazyTls::new(settings, None).unwrap_err().is_tls());
        }
    }

    /// A test CA, a server certificate for `localhost` and a client certificate, both issued
    /// by it (made once per test binary).
    struct Pki {
        ca_pem: String,
        server: (CertificateDer<'static>, Vec<u8>),
        client_pem: (String, String),
        client_der: CertificateDer<'static>,
    }

    fn pki() -> &'static Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        };
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(|| {
            let ca_key = KeyPair::generate().unwrap();
            let mut ca = CertificateParams::new(Vec::new()).unwrap();
            ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let ca_cert = ca.self_signed(&ca_key).unwrap();
            let issuer = Issuer::new(ca, ca_key);
            let issue = |names: Vec<String>, purpose| {
                let key = KeyPair::generate().unwrap();
                let mut params = CertificateParams::new(names).unwrap();
                params.extended_key_usages = vec![purpose];
                (params.signed_by(&key, &issuer).unwrap(), key)
            };
            let (server, server_key) = issue(
                vec!["localhost".into()],
                ExtendedKeyUsagePurpose::ServerAuth,
            );
            let (client, client_key) = issue(Vec::new(), ExtendedKeyUsagePurpose::ClientAuth);
            Pki {
                ca_pem: ca_cert.pem(),
                server: (server.der().clone(), server_key.serialize_der()),
                client_pem: (client.pem(), client_key.serialize_pem()),
                client_der: client.der().clone(),
            }
        })
    }

    /// A server presenting the test PKI's `localhost` certificate, offering ALPN `http/1.1`
    /// and, when `client_auth`, requiring a client certificate issued by the test CA.
    fn server_config(client_auth: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_auth {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(pem_certs(pki().ca_pem.as_bytes(), "CA").unwrap());
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let (cert, key) = &pki().server;
        let key = PrivateKeyDer::Pkcs8(key.clone().into());
        let mut config = builder.with_single_cert(vec![cert.clone()], key).unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A TLS handshake between `client` and `server` in memory (rustls is sans-IO too), for
    /// `localhost`: both ends' connections when it completes, else the first error either
    /// side met.
    fn handshake(
        client: Arc<rustls::ClientConfig>,
        server: Arc<rustls::ServerConfig>,
    ) -> Result<(rustls::ClientConnection, rustls::ServerConnection), rustls::Error> {
        let mut client = rustls::ClientConnection::new(client, server_name("localhost").unwrap())?;
        let mut server = rustls::ServerConnection::new(server)?;
        fn pass(
            from: &mut impl std::ops::DerefMut<Target = rustls::ConnectionCommon<impl Sized>>,
            to: &mut impl std::ops::DerefMut<Target = rustls::ConnectionCommon<impl Sized>>,
        ) -> Result<(), rustls::Error> {
            let mut wire = Vec::new();
            while from.wants_write() {
                from.write_tls(&mut wire).unwrap();
            }
            let mut wire = &wire[..];
            while !wire.is_empty() {
                to.read_tls(&mut wire).unwrap();
                to.process_new_packets()?;
            }
            Ok(())
        }
        for _ in 0..10 {
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok((client, server));
            }
            pass(&mut client, &mut server)?;
            pass(&mut server, &mut client)?;
        }
        panic!("the handshake did not finish in 10 round trips")
    }

    #[test]
    fn a_server_is_trusted_through_a_root_given_and_any_server_without_verification() {
        let config =
            |settings: TlsSettings, loaded: &LoadedRoots| rustls_config(&settings, loaded).unwrap();
        let none = LoadedRoots::default();
        let ca_pem = pki().ca_pem.as_bytes().to_vec();
        // The webpki roots alone do not know the test CA.
        let err =
            handshake(config(TlsSettings::default(), &none), server_config(false)).unwrap_err();
        assert_eq!(
            err,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        );
        let trusting = TlsSettings {
            extra_roots_pem: vec![ca_pem.clone()],
            ..TlsSettings::default()
        };
        let from_file = LoadedRoots {
            ssl_cert_file_pem: Some(ca_pem),
            ..LoadedRoots::default()
        };
        let unverified = TlsSettings {
            verify: false,
            ..TlsSettings::default()
        };
        for (what, config) in [
            ("a root certificate", config(trusting, &none)),
            ("SSL_CERT_FILE", config(TlsSettings::default(), &from_file)),
            ("no verification", config(unverified, &none)),
        ] {
            let (client, _) =
                handshake(config, server_config(false)).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(client.alpn_protocol(), Some(&b"http/1.1"[..]), "{what}");
        }
    }

    #[test]
    fn a_connection_is_quiet_only_while_tls_holds_nothing_the_server_sent() {
        use std::io::{Read, Write};
        let unverified = TlsSettings {
            verify: false,
            ..TlsSettings::default()
        };
        let config = rustls_config(&unverified, &LoadedRoots::default()).unwrap();
        let (mut client, mut server) = handshake(config, server_config(false)).unwrap();
        // What the server sent so far (session tickets) has been opened: nothing to read.
        assert!(tls_is_quiet(&mut client));
        // One record: an answer, and stray bytes after it.
        server.writer().write_all(b"answer+stray").unwrap();
        let mut wire = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut wire).unwrap();
        }
        // Read from the socket but not yet opened: not quiet (the record is opened here).
        client.read_tls(&mut &wire[..]).unwrap();
        assert!(!tls_is_quiet(&mut client));
        // The answer read and the stray bytes left inside TLS: still not quiet.
        let mut answer = [0; 6];
        client.reader().read_exact(&mut answer).unwrap();
        assert!(!tls_is_quiet(&mut client));
        let mut rest = [0; 6];
        client.reader().read_exact(&mut rest).unwrap();
        assert!(tls_is_quiet(&mut client), "all read");
        // A close_notify waiting is not quiet either.
        server.send_close_notify();
        let mut wire = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut wire).unwrap();
        }
        client.read_tls(&mut &wire[..]).unwrap();
        assert!(!tls_is_quiet(&mut client));
    }

    #[test]
    fn a_client_identity_is_presented_to_a_server_that_asks_for_one() {
        let (chain, key) = &pki().client_pem;
        let settings = TlsSettings {
            verify: false,
            client_identity_pem: Some((chain.as_bytes().to_vec(), key.as_bytes().to_vec())),
            ..TlsSettings::default()
        };
        let config = rustls_config(&settings, &LoadedRoots::default()).unwrap();
        let (_, server) = handshake(config, server_config(true)).unwrap();
        assert_eq!(
            server.peer_certificates(),
            Some(&[pki().client_der.clone()][..])
        );
        let anonymous = TlsSettings {
            verify: false,
            ..TlsSettings::default()
        };
        let config = rustls_config(&anonymous, &LoadedRoots::default()).unwrap();
        assert_eq!(
            handshake(config, server_config(true)).unwrap_err(),
            rustls::Error::NoCertificatesPresented
        );
    }

    #[test]
    fn the_flipped_configuration_verifies_the_other_way() {
        macro_rules! no_io {
            () => {
                RootLoaders {
                    read_file: &mut |_| unreachable!("no SSL_CERT_FILE"),
                    cert_dir: &mut |_| unreachable!("no SSL_CERT_DIR"),
                    native: &mut || unreachable!("no OS store"),
                    key_log: &mut || unreachable!("no SSLKEYLOGFILE"),
                }
            };
        }
        for verify in [true, false] {
            let settings = TlsSettings {
                verify,
                ..TlsSettings::default()
            };
            let tls = LazyTls::new(settings.clone(), None).unwrap();
            assert_eq!(tls.settings(), &settings);
            assert!(!tls.loads_system_roots(), "nothing to read");
            assert!(tls.built(false).is_none() && tls.built(true).is_none());
            for flipped in [false, true] {
                let config = tls.config(flipped, no_io!()).unwrap();
                let built = tls.built(flipped).expect("built now").unwrap();
                assert!(Arc::ptr_eq(&config, &built), "the same configuration");
                let accepted = handshake(config, server_config(false)).is_ok();
                assert_eq!(
                    accepted,
                    !(verify ^ flipped),
                    "verify {verify}, flipped {flipped}"
                );
            }
        }
        assert_eq!(format!("{:?}", no_io!()), "RootLoaders { .. }");
    }

    #[test]
    fn certificate_failures_are_explained_before_rustls_own_words() {
        use rustls::CertificateError as Cert;
        let described = |cert: Cert| describe_tls_error(&rustls::Error::InvalidCertificate(cert));
        for (cert, meaning) in [
            (Cert::UnknownIssuer, "not issued by a CA this client trusts"),
            (Cert::BadSignature, "does not verify"),
            (Cert::Revoked, "was revoked"),
            (Cert::BadEncoding, "is malformed"),
            (Cert::UnhandledCriticalExtension, "critical extension"),
        ] {
            let rustls_words = rustls::Error::InvalidCertificate(cert.clone()).to_string();
            let text = described(cert);
            assert!(text.contains(meaning), "{text}");
            assert!(text.ends_with(&format!(" ({rustls_words})")), "{text}");
        }
        let webpki = |name: &str| {
            let other: Arc<dyn std::error::Error + Send + Sync> = Arc::from(Box::from(name));
            Cert::Other(rustls::OtherError(other))
        };
        assert!(described(webpki("CaUsedAsEndEntity")).contains("a CA certificate as its own"));
        // What has no explanation is rustls's words alone.
        for error in [
            rustls::Error::InvalidCertificate(webpki("SomethingElse")),
            rustls::Error::InvalidCertificate(Cert::Expired),
            rustls::Error::NoCertificatesPresented,
        ] {
            assert_eq!(describe_tls_error(&error), error.to_string());
        }
    }

    #[test]
    fn server_names() {
        assert!(matches!(
            server_name("example.com").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("::1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(server_name("bad name").is_err());
    }
}
