//! The value formats the vendor documents prescribe, implemented once.
//!
//! The SDK's generated validators (through `core-http`), the sandbox's request checks and
//! (later) the fleet's desired-state checks all call these functions, so they cannot disagree
//! about what a bare host or an `https://` domain is. Each check returns whether `text` has the
//! format; [`Format::rule`] says it in words for error messages.

/// A documented value format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// A bare host name: no scheme, no path, no port separators other than the host's own
    /// (`www.qq.com`).
    BareHost,
    /// An origin starting with `https://` or `wss://`: a host (and port), no path, query,
    /// fragment or user info (`https://api.example.com`, `wss://ws.example.com:8443`).
    HttpsOrWssOrigin,
    /// An `https://` origin (host and optional port).
    HttpsOrigin,
    /// An `https://` origin with no port (WeChat's webview domains).
    HttpsOriginWithoutPort,
    /// A `wss://` origin (host and optional port).
    WssOrigin,
    /// A `udp://` origin (host and optional port).
    UdpOrigin,
    /// A `tcp://` origin (host and optional port).
    TcpOrigin,
}

impl Format {
    /// Every format, in declaration order.
    pub const ALL: [Format; 7] = [
        Format::BareHost,
        Format::HttpsOrWssOrigin,
        Format::HttpsOrigin,
        Format::HttpsOriginWithoutPort,
        Format::WssOrigin,
        Format::UdpOrigin,
        Format::TcpOrigin,
    ];

    /// Whether `text` has this format.
    pub fn accepts(self, text: &str) -> bool {
        match self {
            Format::BareHost => is_bare_host(text),
            Format::HttpsOrWssOrigin => is_https_or_wss_origin(text),
            Format::HttpsOrigin => is_origin(text, &["https"], true),
            Format::HttpsOriginWithoutPort => is_origin(text, &["https"], false),
            Format::WssOrigin => is_origin(text, &["wss"], true),
            Format::UdpOrigin => is_origin(text, &["udp"], true),
            Format::TcpOrigin => is_origin(text, &["tcp"], true),
        }
    }

    /// The rule in words, as error messages state it.
    pub fn rule(self) -> &'static str {
        match self {
            Format::BareHost => "a bare host such as www.qq.com (no scheme, no path)",
            Format::HttpsOrWssOrigin => {
                "an https:// or wss:// domain such as https://api.example.com (no path or query)"
            }
            Format::HttpsOrigin => "an https:// domain such as https://api.example.com (no path)",
            Format::HttpsOriginWithoutPort => {
                "an https:// domain without a port such as https://h5.example.com (no path)"
            }
            Format::WssOrigin => "a wss:// domain such as wss://ws.example.com (no path)",
            Format::UdpOrigin => "a udp:// domain such as udp://udp.example.com (no path)",
            Format::TcpOrigin => "a tcp:// domain such as tcp://tcp.example.com (no path)",
        }
    }

    /// The format's name in specs and in `#[param(format = ..)]` (snake case).
    pub fn name(self) -> &'static str {
        match self {
            Format::BareHost => "bare_host",
            Format::HttpsOrWssOrigin => "https_or_wss_url",
            Format::HttpsOrigin => "https_url",
            Format::HttpsOriginWithoutPort => "https_url_without_port",
            Format::WssOrigin => "wss_url",
            Format::UdpOrigin => "udp_url",
            Format::TcpOrigin => "tcp_url",
        }
    }

    /// The Rust name of the variant (what generated code writes).
    pub fn variant(self) -> &'static str {
        match self {
            Format::BareHost => "BareHost",
            Format::HttpsOrWssOrigin => "HttpsOrWssOrigin",
            Format::HttpsOrigin => "HttpsOrigin",
            Format::HttpsOriginWithoutPort => "HttpsOriginWithoutPort",
            Format::WssOrigin => "WssOrigin",
            Format::UdpOrigin => "UdpOrigin",
            Format::TcpOrigin => "TcpOrigin",
        }
    }

    /// The format a spec names, if any.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A bare host: not empty, and none of the characters a scheme, a path, a query, a list
/// separator or a space would bring (`/ ; , ? # @` and space).
pub fn is_bare_host(text: &str) -> bool {
    !text.is_empty()
        && !text
            .bytes()
            .any(|b| matches!(b, b'/' | b';' | b',' | b'?' | b'#' | b'@' | b' '))
}

/// An `https://` or `wss://` origin, parsed as a URL: a host is required, and nothing may
/// follow the host and port (a path, even `/`, a query, a fragment) nor precede it (user
/// info); list separators (`,`) and spaces are refused.
pub fn is_https_or_wss_origin(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("wss://"))
    else {
        return false;
    };
    if rest.is_empty()
        || rest
            .bytes()
            .any(|b| matches!(b, b'/' | b'?' | b'#' | b'@' | b',' | b' ' | b'\\'))
    {
        return false;
    }
    url::Url::parse(text).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
}

/// An origin with one of `schemes`, parsed as a URL: a host is required, nothing may follow
/// the host and port nor precede it; a port only when `port` allows it.
pub fn is_origin(text: &str, schemes: &[&str], port: bool) -> bool {
    let Some(rest) = schemes.iter().find_map(|scheme| {
        text.strip_prefix(scheme)
            .and_then(|rest| rest.strip_prefix("://"))
    }) else {
        return false;
    };
    if rest.is_empty()
        || rest
            .bytes()
            .any(|b| matches!(b, b'/' | b'?' | b'#' | b'@' | b',' | b';' | b' ' | b'\\'))
        || (!port && rest.contains(':') && !rest.starts_with('['))
    {
        return false;
    }
    url::Url::parse(text)
        .is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()) && (port || u.port().is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_hosts() {
        for ok in ["www.qq.com", "a", "xn--fiqs8s.cn", "localhost"] {
            assert!(is_bare_host(ok), "{ok}");
        }
        for bad in [
            "",
            "https://www.qq.com",
            "www.qq.com/path",
            "a;b",
            "a,b",
            "a b",
            "a?b",
            "a#b",
            "user@host",
        ] {
            assert!(!is_bare_host(bad), "{bad}");
        }
    }

    #[test]
    fn names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
        }
        assert_eq!(Format::from_name("http_url"), None);
    }

    #[test]
    fn scheme_origins() {
        assert!(Format::HttpsOrigin.accepts("https://a.example.com:8443"));
        assert!(!Format::HttpsOrigin.accepts("wss://a.example.com"));
        assert!(Format::WssOrigin.accepts("wss://a.example.com"));
        assert!(!Format::WssOrigin.accepts("wss://https://a.example.com"));
        assert!(Format::UdpOrigin.accepts("udp://u.example.com"));
        assert!(Format::TcpOrigin.accepts("tcp://t.example.com:9000"));
        assert!(!Format::TcpOrigin.accepts("udp://t.example.com"));
        assert!(Format::HttpsOriginWithoutPort.accepts("https://h5.example.com"));
        assert!(!Format::HttpsOriginWithoutPort.accepts("https://h5.example.com:443"));
        assert!(!Format::HttpsOriginWithoutPort.accepts("https://h5.example.com:8443"));
        assert!(!Format::HttpsOrigin.accepts("https://a;b"));
        assert!(!Format::HttpsOrigin.accepts("https://a/"));
    }

    #[test]
    fn https_or_wss_origins() {
        for ok in [
            "https://api.example.com",
            "wss://ws.example.com",
            "https://api.example.com:8443",
            "https://127.0.0.1",
        ] {
            assert!(is_https_or_wss_origin(ok), "{ok}");
        }
        for bad in [
            "",
            "http://api.example.com",
            "api.example.com",
            "https://",
            "wss://",
            "https://x/path?q",
            "https://x/",
            "https://x?q",
            "https://x#f",
            "https://user@x",
            "https://a,b",
            "https://a b",
            "https://x:notaport",
            "https://://x",
            "HTTPS://x",
        ] {
            assert!(!is_https_or_wss_origin(bad), "{bad}");
        }
    }
}
