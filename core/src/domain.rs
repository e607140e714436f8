//! Domain names compared on label boundaries, as cookies (RFC 6265 §5.1.3) and `no_proxy`
//! entries compare them.

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
        assert!(is_subdomain("www.example.com", "example.com"));
        assert!(is_subdomain("a.b.example.com", "example.com"));
        assert!(is_subdomain("a.b.example.com", "b.example.com"));
        assert!(!is_subdomain("example.com", "example.com"));
        assert!(!is_subdomain("badexample.com", "example.com"));
        assert!(!is_subdomain("example.com", "www.example.com"));
        assert!(!is_subdomain("example.org", "example.com"));
    }
}
