//! A test PKI made with rcgen when first used (once per test binary), and the rustls
//! configurations the TLS servers and the self-tests use.
//!
//! The PKI: a CA ([`ca_pem`]); server leaves signed by it for `localhost` + `127.0.0.1`
//! ([`Cert::Localhost`]), the same names but expired ([`Cert::Expired`]), and only
//! `wrong.example` ([`Cert::WrongHost`]); a self-signed leaf for `localhost` + `127.0.0.1` from
//! no known CA ([`Cert::SelfSigned`]); and a client certificate signed by the CA
//! ([`client_cert_pem`], [`client_key_pem`]).

use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Which certificate a TLS test server presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cert {
    /// Valid: signed by the test CA for `localhost` and `127.0.0.1`.
    Localhost,
    /// Signed by the test CA for `localhost` and `127.0.0.1`, but valid only in 2000.
    Expired,
    /// Signed by the test CA, valid now, but only for `wrong.example`.
    WrongHost,
    /// Self-signed for `localhost` and `127.0.0.1`: no CA a client trusts issued it.
    SelfSigned,
    /// Self-signed for `localhost` and `127.0.0.1` and marked as a CA (what `openssl req
    /// -x509` makes): a CA certificate used as a server's own, which verification refuses
    /// even when the client trusts it ([`self_signed_ca_pem`]).
    SelfSignedCa,
}

/// Whether a TLS test server asks for a client certificate (verified against the test CA).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// Never asks.
    #[default]
    None,
    /// Asks, accepts a client without one, rejects a bad one.
    Optional,
    /// Asks and fails the handshake without a valid one.
    Required,
}

/// TLS settings of a test server. A [`Cert`] converts into `Tls` with the other defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls {
    /// The certificate the server presents.
    pub cert: Cert,
    /// Client certificate policy.
    pub client_auth: ClientAuth,
    /// ALPN protocols the server offers (none by default).
    pub alpn: Vec<Vec<u8>>,
    /// Speak TLS 1.2 only (default: 1.2 and 1.3).
    pub tls12_only: bool,
}

impl Tls {
    /// Settings presenting `cert`, no client auth, no ALPN, TLS 1.2 and 1.3.
    pub fn new(cert: Cert) -> Self {
        Tls {
            cert,
            client_auth: ClientAuth::None,
            alpn: Vec::new(),
            tls12_only: false,
        }
    }

    /// Sets the client certificate policy.
    pub fn client_auth(mut self, client_auth: ClientAuth) -> Self {
        self.client_auth = client_auth;
        self
    }

    /// Offers these ALPN protocols (e.g. `b"http/1.1"`).
    pub fn alpn(mut self, protocols: &[&[u8]]) -> Self {
        self.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// Restricts the server to TLS 1.2.
    pub fn tls12_only(mut self) -> Self {
        self.tls12_only = true;
        self
    }

    /// The rustls server configuration for these settings.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let pki = pki();
        let provider = provider();
        let versions: &[&rustls::SupportedProtocolVersion] = if self.tls12_only {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        };
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .expect("protocol versions");
        let builder = match self.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Optional | ClientAuth::Required => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(ca_roots()), provider);
                let verifier = if self.client_auth == ClientAuth::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(verifier.build().expect("client verifier"))
            }
        };
        let leaf = match self.cert {
            Cert::Localhost => &pki.localhost,
            Cert::Expired => &pki.expired,
            Cert::WrongHost => &pki.wrong_host,
            Cert::SelfSigned => &pki.self_signed,
            Cert::SelfSignedCa => &pki.self_signed_ca,
        };
        let mut config = builder
            .with_single_cert(vec![leaf.cert.clone()], leaf.key())
            .expect("server certificate");
        config.alpn_protocols = self.alpn.clone();
        Arc::new(config)
    }
}

impl From<Cert> for Tls {
    fn from(cert: Cert) -> Self {
        Tls::new(cert)
    }
}

/// The ring crypto provider, explicitly (no process default is installed).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Where a client connects `localhost`, the TLS test servers' name: 127.0.0.1 only, at the
/// URL's port. Give it to every client of a TLS test server (`.resolve("localhost",
/// tls::LOOPBACK)`): left to itself a client tries `::1` first (as curl does), an address no
/// test server listens on.
pub const LOOPBACK: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// The test CA certificate, PEM. Trust this to accept [`Cert::Localhost`].
pub fn ca_pem() -> String {
    pki().ca_pem.clone()
}

/// The test CA certificate, DER.
pub fn ca_der() -> CertificateDer<'static> {
    pki().ca_der.clone()
}

/// The self-signed leaf ([`Cert::SelfSigned`]), PEM, for tests that trust it explicitly.
pub fn self_signed_pem() -> String {
    pki().self_signed.pem.clone()
}

/// The certificate of [`Cert::SelfSignedCa`], PEM, for tests that trust it as a root.
pub fn self_signed_ca_pem() -> String {
    pki().self_signed_ca.pem.clone()
}

/// The client certificate (CN `duet test client`, signed by the test CA), PEM.
pub fn client_cert_pem() -> String {
    pki().client.pem.clone()
}

/// The client certificate's private key, PKCS#8 PEM.
pub fn client_key_pem() -> String {
    pki().client.key_pem.clone()
}

/// The client certificate, DER (what a server records as the peer certificate).
pub fn client_cert_der() -> CertificateDer<'static> {
    pki().client.cert.clone()
}

/// A root store holding only the test CA.
pub fn ca_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.add(ca_der()).expect("test CA");
    roots
}

/// A rustls client configuration trusting only the test CA; with the test client certificate
/// when `with_client_cert`. For self-tests and for tests that need a reference client.
pub fn client_config(with_client_cert: bool) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(ca_roots());
    let config = if with_client_cert {
        let client = &pki().client;
        builder
            .with_client_auth_cert(vec![client.cert.clone()], client.key())
            .expect("client certificate")
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(config)
}

/// One certificate and its key.
struct Leaf {
    cert: CertificateDer<'static>,
    pem: String,
    key_der: Vec<u8>,
    key_pem: String,
}

impl Leaf {
    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

struct Pki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    localhost: Leaf,
    expired: Leaf,
    wrong_host: Leaf,
    self_signed: Leaf,
    self_signed_ca: Leaf,
    client: Leaf,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(make_pki)
}

fn params(names: &[&str], common_name: &str) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("certificate names");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.use_authority_key_identifier_extension = true;
    params
}

fn leaf(params: CertificateParams, issuer: Option<&Issuer<'_, KeyPair>>) -> Leaf {
    let key = KeyPair::generate().expect("key");
    let cert = match issuer {
        Some(issuer) => params.signed_by(&key, issuer),
        None => params.self_signed(&key),
    }
    .expect("certificate");
    Leaf {
        cert: cert.der().clone(),
        pem: cert.pem(),
        key_der: key.serialize_der(),
        key_pem: key.serialize_pem(),
    }
}

fn make_pki() -> Pki {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::default();
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "duet test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);

    let server = |names: &[&str]| {
        let mut p = params(names, names[0]);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p
    };
    let mut expired = server(&["localhost", "127.0.0.1"]);
    expired.not_before = date_time_ymd(2000, 1, 1);
    expired.not_after = date_time_ymd(2001, 1, 1);
    let mut self_signed_ca = server(&["localhost", "127.0.0.1"]);
    self_signed_ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let mut client = params(&[], "duet test client");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];

    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().clone(),
        localhost: leaf(server(&["localhost", "127.0.0.1"]), Some(&issuer)),
        expired: leaf(expired, Some(&issuer)),
        wrong_host: leaf(server(&["wrong.example"]), Some(&issuer)),
        self_signed: leaf(server(&["localhost", "127.0.0.1"]), None),
        self_signed_ca: leaf(self_signed_ca, None),
        client: leaf(client, Some(&issuer)),
    }
}
