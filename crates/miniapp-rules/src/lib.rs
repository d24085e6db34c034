//! The rules the vendor documents prescribe, implemented once: value formats ([`Format`]),
//! limits ([`chars`], [`range`], [`max_items`], [`required`]) and joined lists
//! ([`joined_items`], [`join`]).
//!
//! The SDK's generated validators (through `core-http`, which turns a [`Broken`] into its
//! `InvalidRequest`), the sandbox's request checks and the fleet's desired-state checks all
//! call these functions, so they cannot disagree about what a bare host is, how characters
//! are counted or which items of `a;;b` reach the vendor. [`Format::rule`] and
//! [`Broken::rule`] say each rule in words for error messages.

/// A broken rule: the rule in words and what was given instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The rule, e.g. `1 to 100 characters`.
    pub rule: String,
    /// What was given, e.g. `101 characters`.
    pub given: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; got {}", self.rule, self.given)
    }
}

impl std::error::Error for Broken {}

fn broken(rule: String, given: String) -> Result<(), Broken> {
    Err(Broken { rule, given })
}

/// A documented-required value is present, unless `unless` names a condition that holds
/// (`("action = get", true)`).
pub fn required(present: bool, unless: Option<(&str, bool)>) -> Result<(), Broken> {
    if present || matches!(unless, Some((_, true))) {
        return Ok(());
    }
    let rule = match unless {
        Some((cond, _)) => format!("required unless {cond}"),
        None => "required".to_owned(),
    };
    broken(rule, "nothing".into())
}

/// The length of `text` in characters (not bytes) is within `min..=max`.
pub fn chars(text: &str, min: Option<usize>, max: Option<usize>) -> Result<(), Broken> {
    // Only count when there is a limit to count against.
    if min.is_none() && max.is_none() {
        return Ok(());
    }
    let n = text.chars().count();
    if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
        let rule = match (min, max) {
            (Some(a), Some(b)) => format!("{a} to {b} characters"),
            (Some(a), None) => format!("at least {a} characters"),
            (None, Some(b)) => format!("at most {b} characters"),
            (None, None) => unreachable!("checked above"),
        };
        return broken(rule, format!("{n} characters"));
    }
    Ok(())
}

/// `n` is within `min..=max`.
pub fn range(n: i64, min: Option<i64>, max: Option<i64>) -> Result<(), Broken> {
    if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
        let lo = min.map_or(String::new(), |m| m.to_string());
        let hi = max.map_or(String::new(), |m| m.to_string());
        return broken(format!("between {lo} and {hi}"), n.to_string());
    }
    Ok(())
}

/// A value documented as needing one holds something: a text with a character other than
/// white space (`""` and `" "` are nothing); a list (`items`: its length) with at least one
/// item. Spending a quota-limited write on an empty name, or an `add` of no domain, is refused.
pub fn non_empty_text(text: &str) -> Result<(), Broken> {
    if text.trim().is_empty() {
        return broken("a non-empty text".into(), format!("{text:?}"));
    }
    Ok(())
}

/// A list documented as needing items has at least one.
pub fn non_empty_list(items: usize) -> Result<(), Broken> {
    if items == 0 {
        return broken("at least one item".into(), "an empty list".into());
    }
    Ok(())
}

/// A list has at most `max` items.
pub fn max_items(n: usize, max: usize) -> Result<(), Broken> {
    if n > max {
        return broken(format!("at most {max} items"), format!("{n} items"));
    }
    Ok(())
}

/// `text` has `format`.
pub fn format(text: &str, format: Format) -> Result<(), Broken> {
    if format.accepts(text) {
        Ok(())
    } else {
        broken(format.rule().into(), format!("{text:?}"))
    }
}

/// Whether an item of a joined list reaches the vendor: empty items are dropped (`a;;b` is
/// `a;b`), anything else is sent as it is (spaces included).
pub fn is_sent_item(item: &str) -> bool {
    !item.is_empty()
}

/// The items of a joined list as the vendor receives them: `text` split on `sep`, empty items
/// dropped.
pub fn joined_items<'a>(text: &'a str, sep: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.split(sep).filter(|item| is_sent_item(item))
}

/// `items` joined by `sep` as they are sent: empty items dropped, so `[""]` is sent as an empty
/// list.
pub fn join<S: AsRef<str>>(items: &[S], sep: &str) -> String {
    let len = items.iter().map(|i| i.as_ref().len() + sep.len()).sum();
    let mut out = String::with_capacity(len);
    for item in items.iter().map(AsRef::as_ref).filter(|i| is_sent_item(i)) {
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(item);
    }
    out
}

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
    is_plain_host_and_port(rest, true)
        || url::Url::parse(text).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
}

/// `host[:port]` in the form almost every real origin has, which the URL parser accepts as it
/// is: dot-separated labels of lowercase ASCII letters, digits and inner single hyphens, not
/// punycode (`xn--`), a last label that is not a number (an IPv4 address), and a port of 1 to
/// 5 digits up to 65535 (when `port` allows one). Checked without parsing a URL, which costs
/// several thousand instructions per item; anything else is left to the parser. It accepts
/// nothing the parser refuses (`plain_hosts_are_what_the_url_parser_accepts`).
fn is_plain_host_and_port(rest: &str, port: bool) -> bool {
    let (host, digits) = match rest.split_once(':') {
        Some((host, digits)) => (host, Some(digits)),
        None => (rest, None),
    };
    if let Some(d) = digits {
        let number = (1..=5).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit());
        if !port || !number || d.parse::<u32>().map_or(true, |n| n > 65535) {
            return false;
        }
    }
    let mut last = "";
    for label in host.split('.') {
        let plain = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && !label.contains("--")
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !plain {
            return false;
        }
        last = label;
    }
    !last.bytes().all(|b| b.is_ascii_digit()) && !last.starts_with("0x")
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
    if is_plain_host_and_port(rest, port) {
        return true;
    }
    url::Url::parse(text)
        .is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()) && (port || u.port().is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URL parser's own verdict on `scheme://rest` (what the fast path stands in for).
    fn parser_accepts(scheme: &str, rest: &str, port: bool) -> bool {
        url::Url::parse(&format!("{scheme}://{rest}")).is_ok_and(|u| {
            u.host_str().is_some_and(|h| !h.is_empty()) && (port || u.port().is_none())
        })
    }

    #[test]
    fn plain_hosts_are_what_the_url_parser_accepts() {
        // Every string over an alphabet with the characters that matter, up to 5 long, and
        // longer ones built from labels: the fast path accepts none the parser refuses.
        let alphabet = ['a', 'z', '0', '9', '-', '.', ':', 'x', 'n'];
        let mut texts = vec![String::new()];
        let mut all = Vec::new();
        for _ in 0..5 {
            texts = texts
                .iter()
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            all.extend(texts.iter().cloned());
        }
        for extra in [
            "api.example.com",
            "a.b.c.d.e",
            "1.2.3.4",
            "1.2.3.999",
            "0x7f.1",
            "example.com:443",
            "example.com:65535",
            "example.com:65536",
            "example.com:0",
            "xn--fiqs8s.cn",
            "ab--cd.com",
            "a-b.c-d.com",
            &"a".repeat(63),
            &"a".repeat(64),
            "a.123",
            "123.a",
        ] {
            all.push(extra.to_owned());
        }
        let mut fast = 0;
        for rest in &all {
            for port in [true, false] {
                if is_plain_host_and_port(rest, port) {
                    fast += 1;
                    for scheme in ["https", "wss", "udp", "tcp"] {
                        assert!(
                            parser_accepts(scheme, rest, port),
                            "the fast path accepts {scheme}://{rest} (port {port}), the parser does not"
                        );
                    }
                }
            }
        }
        assert!(fast > 1000, "the fast path took {fast} texts");
    }

    #[test]
    fn limits_say_the_rule_and_what_was_given() {
        let hundred_han = "审".repeat(100);
        assert!(chars(&hundred_han, Some(1), Some(100)).is_ok());
        let err = chars(&format!("{hundred_han}审"), Some(1), Some(100)).unwrap_err();
        assert_eq!(err.to_string(), "1 to 100 characters; got 101 characters");
        assert_eq!(
            range(1281, Some(200), Some(1280)).unwrap_err().rule,
            "between 200 and 1280"
        );
        assert_eq!(max_items(201, 200).unwrap_err().given, "201 items");
        assert!(required(false, Some(("action = get", true))).is_ok());
        assert_eq!(
            required(false, Some(("action = get", false)))
                .unwrap_err()
                .rule,
            "required unless action = get"
        );
        assert_eq!(
            format("a/b", Format::BareHost).unwrap_err().given,
            "\"a/b\""
        );
    }

    #[test]
    fn joined_lists_drop_empty_items_both_ways() {
        assert_eq!(join(&["a", "", "b"], ";"), "a;b");
        assert_eq!(join(&[""], ";"), "");
        assert_eq!(joined_items("a;;b", ";").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(joined_items(" ;a", ";").collect::<Vec<_>>(), [" ", "a"]);
        assert_eq!(joined_items("", ",").count(), 0);
    }

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
