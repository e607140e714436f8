//! Domain names compared on label boundaries, as cookies (RFC 6265 §5.1.3), `no_proxy`
//! entries and per-host proxy patterns (`*.example.com`) compare them.

/// Whether `host` is a name under `domain`: `www.example.com` and `a.b.example.com` are
/// under `example.com`; `badexample.com` and `example.com` itself are not. Both as the
/// caller has normalised them (case, a trailing dot).
pub(crate) fn is_subdomain(host: &str, domain: &str) -> bool {
    host.len() > domain.len()
        && host.ends_with(domain)
        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
}

#[cfg(test)]
mod tests {
    use super::is_subdomain;

    #[test]
    fn a_subdomain_is_below_a_label_boundary_and_not_the_domain_itself() {
        for (host, domain, under) in [
            ("www.example.com", "example.com", true),
            ("a.b.example.com", "example.com", true),
            ("a.b.example.com", "b.example.com", true),
            ("example.com", "example.com", false),
            ("badexample.com", "example.com", false),
            ("example.com", "www.example.com", false),
            ("example.org", "example.com", false),
        ] {
            assert_eq!(is_subdomain(host, domain), under, "{host} under {domain}");
        }
    }
}
