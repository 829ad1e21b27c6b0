//! Where a webhook may go. A merchant names the URL, so without a check the
//! server would POST wherever it is told: to itself, to the database host, to a
//! cloud metadata service (`http://169.254.169.254/`), in any spelling the URL
//! parser accepts (`http://127.1`, `http://0x7f000001`, `http://[::ffff:7f00:1]`
//! all mean 127.0.0.1 once parsed). So every address a host resolves to must be
//! public, both when the URL is saved and when each delivery is sent; the
//! delivery connects to the very addresses checked (see `Pinned`), so a DNS
//! answer that changes in between (rebinding) cannot redirect it.
//!
//! Hosts on the allow-list (`ALLIANCE_WEBHOOK_ALLOW_HOSTS`, for a receiver on
//! this machine in development and tests) skip the address check, and only they
//! may use plain http, and only outside production.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use url::{Host, Url};

use crate::config::{Config, Environment};

/// What the deployment allows.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// In production every webhook uses https, allow-listed or not.
    pub production: bool,
    /// Host names or IP literals (lower case, as the URL parser writes them)
    /// whose addresses are not checked.
    pub allow_hosts: Vec<String>,
}

impl Policy {
    /// What the configured deployment allows.
    pub fn of(config: &Config) -> Self {
        Self {
            production: config.environment == Environment::Production,
            allow_hosts: config.webhook_allow_hosts.clone(),
        }
    }
}

/// Why a URL may not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("webhooks need https")]
    NotHttps,
    #[error("the host has a non-public address ({0})")]
    NotPublic(IpAddr),
    /// The name does not resolve now; it may later (not a reason to refuse a
    /// URL being saved, but nothing can be sent).
    #[error("the host does not resolve: {0}")]
    Unresolved(String),
}

/// A URL with the addresses it was checked against; the delivery connects to
/// these and no others.
#[derive(Debug, Clone)]
pub struct Pinned {
    /// The host name to pin, None when the URL names an IP literal (the
    /// connection goes to the literal, nothing is looked up).
    pub domain: Option<String>,
    pub addrs: Vec<SocketAddr>,
}

impl Policy {
    fn allowed(&self, host: &str) -> bool {
        self.allow_hosts.iter().any(|h| h == host)
    }

    /// Resolves the URL's host once and checks the scheme and every address.
    pub async fn pin(&self, url: &Url) -> Result<Pinned, Refusal> {
        let host = url.host().ok_or(Refusal::Unresolved(String::new()))?;
        let host_text = match &host {
            Host::Domain(d) => (*d).to_owned(),
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => ip.to_string(),
        };
        let allowed = self.allowed(&host_text);
        match url.scheme() {
            "https" => {}
            "http" if allowed && !self.production => {}
            _ => return Err(Refusal::NotHttps),
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let (domain, addrs) = match host {
            Host::Ipv4(ip) => (None, vec![SocketAddr::new(IpAddr::V4(ip), port)]),
            Host::Ipv6(ip) => (None, vec![SocketAddr::new(IpAddr::V6(ip), port)]),
            Host::Domain(name) => (Some(name.to_owned()), lookup(name.to_owned(), port).await?),
        };
        if !allowed && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(Refusal::NotPublic(bad.ip()));
        }
        Ok(Pinned { domain, addrs })
    }
}

/// The system resolver, off the async threads (it blocks).
async fn lookup(name: String, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
    let shown = name.clone();
    let addrs = tokio::task::spawn_blocking(move || {
        (name.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect::<Vec<_>>)
    })
    .await
    .map_err(|e| Refusal::Unresolved(e.to_string()))?
    .map_err(|e| Refusal::Unresolved(format!("{shown}: {e}")))?;
    if addrs.is_empty() {
        return Err(Refusal::Unresolved(shown));
    }
    Ok(addrs)
}

/// Whether an address is reachable on the public internet: not loopback,
/// private, link-local, shared (CGNAT), multicast, broadcast, unspecified,
/// documentation, benchmarking or reserved; IPv6 forms that carry an IPv4
/// address (mapped, compatible, NAT64) are judged by that address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (b & 0xc0) == 64) // 100.64.0.0/10, shared (CGNAT)
        || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24, protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // 198.18.0.0/15, benchmarking
        || a >= 240) // 240.0.0.0/4, reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // ::a.b.c.d (deprecated IPv4-compatible) and 64:ff9b::a.b.c.d (NAT64) reach
    // the IPv4 address they carry.
    let carried = || {
        let [.., hi, lo] = segments;
        Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))
    };
    if segments[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        return is_public_v4(carried());
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(carried());
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // fc00::/7, unique local
        || (segments[0] & 0xffc0) == 0xfe80 // fe80::/10, link-local
        || (segments[0] & 0xffc0) == 0xfec0 // fec0::/10, old site-local
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)) // documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().unwrap())
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!public(ip), "{ip}");
        }
    }

    #[test]
    fn internet_addresses_are_public() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(ip), "{ip}");
        }
    }

    #[tokio::test]
    async fn numeric_spellings_of_loopback_are_refused() {
        let policy = Policy::default();
        for url in [
            "https://127.1/",
            "https://0x7f000001/",
            "https://2130706433/",
            "https://0177.0.0.1/",
            "https://[::ffff:7f00:1]/",
            "https://169.254.169.254/latest/meta-data/",
        ] {
            let refused = policy.pin(&Url::parse(url).unwrap()).await;
            assert!(matches!(refused, Err(Refusal::NotPublic(_))), "{url}");
        }
    }

    #[tokio::test]
    async fn plain_http_only_to_allowed_hosts_outside_production() {
        let url = Url::parse("http://127.0.0.1:9000/hook").unwrap();
        let mut policy = Policy {
            production: false,
            allow_hosts: vec!["127.0.0.1".to_owned()],
        };
        let pinned = policy.pin(&url).await.unwrap();
        assert_eq!(pinned.addrs, vec!["127.0.0.1:9000".parse().unwrap()]);
        policy.production = true;
        assert_eq!(policy.pin(&url).await.unwrap_err(), Refusal::NotHttps);
        let elsewhere = Url::parse("http://hooks.example.cn/").unwrap();
        assert_eq!(
            Policy::default().pin(&elsewhere).await.unwrap_err(),
            Refusal::NotHttps
        );
    }
}
