//! The rules the vendor documents prescribe, implemented once: value formats ([`Format`]),
//! limits ([`chars`], [`range`], [`max_items`], [`required`]) and joined lists
//! ([`joined_items`], [`join`]).
//!
//! The SDK's generated validators (through `core-http`, which turns a [`Broken`] into its
//! `InvalidRequest`), the sandbox's request checks and the fleet's desired-state checks all
//! call these functions, so they cannot disagree about what a bare host is, how characters
//! are counted or which items of `a;;b` reach the vendor. [`Format::rule`] and
//! [`Broken::rule`] say each rule in words for error messages.
//!
//! It also holds the vocabulary of an endpoint's shape ([`Method`], [`BodyKind`],
//! [`Location`], [`CredentialKind`]), which specs, the generator, the derive, `core-http` and
//! the sandbox share.

mod limits;
mod vocabulary;

pub use limits::Limits;
pub use vocabulary::{BodyKind, CredentialKind, Location, Method};

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

/// A documented value format: its check ([`Format::accepts`]), its rule in words
/// ([`Format::rule`]) and its name in specs ([`Format::name`], also what serde reads and
/// writes) are this one `impl`. A new format is a variant here and an arm in each `match`.
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

    /// Whether `text` has this format: checked byte by byte when it is a plain host (almost
    /// every real one), by the URL parser otherwise (see [`is_origin`]).
    pub fn accepts(self, text: &str) -> bool {
        let (schemes, port) = self.shape();
        is_origin(text, schemes, port)
    }

    /// The schemes the format allows (none: a bare host) and whether a port may follow the
    /// host.
    fn shape(self) -> (&'static [&'static str], bool) {
        match self {
            Format::BareHost => (&[], true),
            Format::HttpsOrWssOrigin => (&["https", "wss"], true),
            Format::HttpsOrigin => (&["https"], true),
            Format::HttpsOriginWithoutPort => (&["https"], false),
            Format::WssOrigin => (&["wss"], true),
            Format::UdpOrigin => (&["udp"], true),
            Format::TcpOrigin => (&["tcp"], true),
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

    /// What a spec may name, each with its rule (for errors that say what is allowed).
    pub fn allowed() -> String {
        let each: Vec<String> = Format::ALL
            .iter()
            .map(|f| format!("`{}` ({})", f.name(), f.rule()))
            .collect();
        each.join(", ")
    }
}

/// A spec names a format by [`Format::name`]: the one spelling, read and written here.
#[cfg(feature = "serde")]
impl serde::Serialize for Format {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Format {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
        Format::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown format `{name}`: expected one of {} (e.g. `limits = {{ format = \"https_url\" }}`)",
                Format::allowed()
            ))
        })
    }
}

/// The schema of a spec's format: one string constant per [`Format`], described by its rule.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Format {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Format".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one_of: Vec<schemars::Schema> = Format::ALL
            .iter()
            .map(|f| {
                schemars::json_schema!({
                    "description": f.rule(),
                    "type": "string",
                    "const": f.name(),
                })
            })
            .collect();
        schemars::json_schema!({
            "description": "Value formats the documents prescribe.",
            "oneOf": one_of,
        })
    }
}

/// A bare host (`www.qq.com`, `localhost`, `中国.cn`; a port allowed): no scheme, path,
/// query, user info, list separator or space, and a host the URL parser accepts.
pub fn is_bare_host(text: &str) -> bool {
    Format::BareHost.accepts(text)
}

/// An `https://` or `wss://` origin: a host (and port), no path (even `/`), query, fragment,
/// user info, list separator or space.
pub fn is_https_or_wss_origin(text: &str) -> bool {
    Format::HttpsOrWssOrigin.accepts(text)
}

/// An origin with one of `schemes` (no scheme at all when `schemes` is empty: a bare host):
/// a host is required, nothing may follow the host and port nor precede it; a port only when
/// `port` allows it. A plain host (lowercase labels, an optional port) is checked byte by
/// byte; any other goes through the URL parser, which is the definition.
pub fn is_origin(text: &str, schemes: &[&str], port: bool) -> bool {
    strip_scheme(text, schemes).is_some_and(|rest| is_plain_host_and_port(rest, port))
        || origin_by_parser(text, schemes, port)
}

/// What follows `scheme://` for one of `schemes` (all of `text` when `schemes` is empty).
fn strip_scheme<'t>(text: &'t str, schemes: &[&str]) -> Option<&'t str> {
    if schemes.is_empty() {
        return Some(text);
    }
    schemes.iter().find_map(|scheme| {
        text.strip_prefix(scheme)
            .and_then(|rest| rest.strip_prefix("://"))
    })
}

/// The definition of an origin, by the URL parser: `host[:port]` after the scheme, none of
/// the characters a path, query, fragment, user info, list separator or space would bring,
/// and a host the parser accepts (a bare host is parsed as `https://` + text).
fn origin_by_parser(text: &str, schemes: &[&str], port: bool) -> bool {
    let Some(rest) = strip_scheme(text, schemes) else {
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
    let parsed = if schemes.is_empty() {
        url::Url::parse(&format!("https://{rest}"))
    } else {
        url::Url::parse(text)
    };
    parsed
        .is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()) && (port || u.port().is_none()))
}

/// `host[:port]` in the form almost every real origin has, which the URL parser accepts as it
/// is: dot-separated labels of 1 to 63 lowercase ASCII letters, digits and inner single
/// hyphens (so not punycode's `xn--`), a last label that is neither a number nor starts with
/// `0x` (an IPv4 address), and a port of 1 to 5 digits up to 65535 (when `port` allows one).
/// One pass over the bytes, no URL parsed (which costs several thousand instructions per
/// item). It accepts nothing the parser refuses (`fast_paths_accept_nothing_the_parser_refuses`).
fn is_plain_host_and_port(rest: &str, port: bool) -> bool {
    let bytes = rest.as_bytes();
    let (host, digits) = match bytes.iter().position(|&b| b == b':') {
        Some(i) => (&bytes[..i], Some(&bytes[i + 1..])),
        None => (bytes, None),
    };
    if let Some(d) = digits {
        if !port || d.is_empty() || d.len() > 5 {
            return false;
        }
        let mut n: u32 = 0;
        for &b in d {
            if !b.is_ascii_digit() {
                return false;
            }
            n = n * 10 + u32::from(b - b'0');
        }
        if n > 65535 {
            return false;
        }
    }
    is_plain_host(host)
}

/// A dot or a hyphen.
fn is_separator(b: u8) -> bool {
    (b == b'.') | (b == b'-')
}

/// A byte of a plain host: a lowercase letter, a digit, a dot or a hyphen.
fn is_plain_host_byte(b: u8) -> bool {
    (b.wrapping_sub(b'a') < 26) | (b.wrapping_sub(b'0') < 10) | is_separator(b)
}

/// The host part of [`is_plain_host_and_port`]: only lowercase letters, digits, dots and
/// hyphens; no two separators side by side (an empty label, a label starting or ending with
/// `-`, `--`); neither the first nor the last byte a separator; labels of at most 63 bytes;
/// a last label that is neither all digits nor starts with `0x`.
fn is_plain_host(host: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (host.first(), host.last()) else {
        return false;
    };
    if is_separator(first) || is_separator(last) {
        return false;
    }
    let body_ok = if host.len() <= 16 {
        is_plain_short_host_body::<16>(host)
    } else if host.len() <= SHORT_HOST {
        is_plain_short_host_body::<SHORT_HOST>(host)
    } else {
        is_plain_long_host_body(host)
    };
    if !body_ok {
        return false;
    }
    let last_label = match host.iter().rposition(|&b| b == b'.') {
        Some(i) => &host[i + 1..],
        None => host,
    };
    !last_label.iter().all(u8::is_ascii_digit) && !last_label.starts_with(b"0x")
}

/// Hosts up to this long take the fixed-size path of [`is_plain_host`] (no label can then be
/// longer than 63 bytes).
const SHORT_HOST: usize = 32;

/// [`is_plain_host`]'s byte and separator checks for a host of at most `N` bytes: one
/// branch-free pass over a fixed-size copy (vector compares), padded with letters, which add
/// neither a separator nor a bad byte.
fn is_plain_short_host_body<const N: usize>(host: &[u8]) -> bool {
    let mut padded = [b'a'; SHORT_HOST + 1];
    padded[..host.len()].copy_from_slice(host);
    (0..N).fold(true, |ok, i| {
        ok & is_plain_host_byte(padded[i])
            & !(is_separator(padded[i]) & is_separator(padded[i + 1]))
    })
}

/// [`is_plain_host`]'s byte and label checks for any length.
fn is_plain_long_host_body(host: &[u8]) -> bool {
    let bytes_ok = host.iter().all(|&b| is_plain_host_byte(b));
    let pairs_ok = host
        .windows(2)
        .all(|w| !(is_separator(w[0]) & is_separator(w[1])));
    bytes_ok && pairs_ok && host.split(|&b| b == b'.').all(|label| label.len() <= 63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_paths_accept_nothing_the_parser_refuses() {
        // Every string over an alphabet with the characters that matter, up to 5 long, and
        // longer ones built from labels, after every scheme and none: for every format, the
        // byte-by-byte path accepts none that the URL parser refuses.
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
            "a-b.c-d.a-long-label-example.example.com",
            "a-b.c-d.a-long-label--example.example.com",
            "a-b.c-d.a-long-label-example.example.123",
            "a-b.c-d.a-long-label-example.example.com.",
            "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q",
            "a-b.c-d.long-label.example.com",
            "a-b.c-d.long-label.example.co-",
            "a-b.c-d.long--label.example.com",
            "a-b.c-d.long-label..example.com",
            "a-b.c-d.long-label.example.1234",
            "a-b.c-d.long-label.example.0xab",
            "a-b.c-d.long-label.example.c_m",
            "-b.c-d.long-label.example.com",
            &format!("{}.com", "a".repeat(63)),
            &format!("{}.com", "a".repeat(64)),
        ] {
            all.push(extra.to_owned());
        }
        for rest in &all {
            // The fixed-size path and the general one agree wherever both apply.
            let host = rest.as_bytes();
            if !host.is_empty() && host.len() <= SHORT_HOST {
                let short = is_plain_host(host);
                let general = !is_separator(host[0])
                    && !is_separator(host[host.len() - 1])
                    && is_plain_long_host_body(host)
                    && {
                        let last = host.rsplit(|&b| b == b'.').next().unwrap_or(host);
                        !last.iter().all(u8::is_ascii_digit) && !last.starts_with(b"0x")
                    };
                assert_eq!(short, general, "{rest:?}");
            }
        }
        let mut fast = 0;
        for rest in &all {
            for prefix in ["", "https://", "wss://", "udp://", "tcp://", "http://"] {
                let text = format!("{prefix}{rest}");
                for format in Format::ALL {
                    let (schemes, port) = format.shape();
                    let plain = strip_scheme(&text, schemes)
                        .is_some_and(|rest| is_plain_host_and_port(rest, port));
                    if plain {
                        fast += 1;
                        assert!(
                            origin_by_parser(&text, schemes, port),
                            "the fast path accepts {text:?} as {format:?}, the URL parser does not"
                        );
                    }
                    assert_eq!(
                        format.accepts(&text),
                        plain || origin_by_parser(&text, schemes, port)
                    );
                }
            }
        }
        assert!(fast > 10_000, "the fast path took {fast} texts");
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
        for ok in [
            "www.qq.com",
            "a",
            "xn--fiqs8s.cn",
            "localhost",
            "WWW.QQ.COM",
            "中国.cn",
            "www.qq.com:8080",
            "127.0.0.1",
        ] {
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
            "exa<mple.com",
            "a|b.com",
            "www.qq.com:99999",
            "www.qq.com:port",
            "a\\b",
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
