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
}

impl Format {
    /// Whether `text` has this format.
    pub fn accepts(self, text: &str) -> bool {
        match self {
            Format::BareHost => is_bare_host(text),
            Format::HttpsOrWssOrigin => is_https_or_wss_origin(text),
        }
    }

    /// The rule in words, as error messages state it.
    pub fn rule(self) -> &'static str {
        match self {
            Format::BareHost => "a bare host such as www.qq.com (no scheme, no path)",
            Format::HttpsOrWssOrigin => {
                "an https:// or wss:// domain such as https://api.example.com (no path or query)"
            }
        }
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
