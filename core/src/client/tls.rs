//! rustls client configurations from [`TlsSettings`] (feature `rustls`).
//!
//! Only configuration is built here; handshakes run in the drivers. Reading certificate files
//! and the operating system's store is I/O, so the drivers load those and pass them in.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::config::TlsSettings;
use super::error::{Error, ErrorKind};

/// Trust anchors the driver loaded from the system.
#[derive(Debug, Default)]
pub struct LoadedRoots {
    /// The contents of the file named by `SSL_CERT_FILE`, when set and enabled.
    pub ssl_cert_file_pem: Option<Vec<u8>>,
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
    for cert in &loaded.native {
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
        .with_safe_default_protocol_versions()
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
            native: vec![],
        };
        assert!(
            rustls_config(&TlsSettings::default(), &loaded)
                .unwrap_err()
                .to_string()
                .contains("SSL_CERT_FILE")
        );
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
