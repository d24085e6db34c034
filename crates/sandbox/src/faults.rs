//! Fault injection: the faults, the injection rules and random draws, per-endpoint hit counts,
//! and turning a normal answer into a faulty one.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use miniapp_spec::Vendor;

use crate::envelope;
use crate::respond;
use crate::tokens::{key_matches, TokenFault};
use crate::SandboxOptions;

/// A failure the sandbox can inject instead of a normal answer.
///
/// Injected with [`Sandbox::inject`](crate::Sandbox::inject), or at random with
/// [`SandboxOptions::fault_rate`]. The request is still checked against the spec and recorded
/// (see [`RecordedRequest::accepted`](crate::RecordedRequest::accepted)); the fault replaces
/// the answer. [`Slow`](Fault::Slow), [`ResetMidBody`](Fault::ResetMidBody) and
/// [`Truncated`](Fault::Truncated) deliver (part of) the normal answer, and
/// [`AppliedThenReset`](Fault::AppliedThenReset) and
/// [`AppliedThenStatus`](Fault::AppliedThenStatus) discard it, so the request is fully served
/// (a token endpoint issues its token, a resource write is applied); every other fault answers
/// without serving it (nothing is issued, no refresh token is used, nothing is written).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// An HTTP error status (500, 502, 503, ...) with a short text/plain body such as
    /// `503 Service Unavailable (sandbox fault)`. Codes outside `200..=999` answer 500.
    Status(u16),
    /// The vendor's "system busy" answer: its documented busy code in its envelope (HTTP 200,
    /// WeChat `{"errcode":-1,"errmsg":"system error"}`), from its `vendor.toml`; a vendor that
    /// documents none (Baidu, Kuaishou) answers HTTP 503 with `-1` in its envelope.
    Busy,
    /// Wait this long before answering normally (to go past a client timeout).
    Slow(Duration),
    /// Close the connection without sending any response (after reading the request).
    ResetBeforeResponse,
    /// Send the status line and headers (Content-Length of the full answer), part of the body,
    /// then close the connection.
    ResetMidBody,
    /// The normal answer (HTTP 200 for every accepted request) with its JSON body cut in half:
    /// a complete HTTP message whose Content-Length matches the cut body.
    Truncated,
    /// A 200 answer with Content-Type `application/json` and the body `not json at all`.
    NotJson,
    /// A 200 answer with an HTML error page (Content-Type `text/html`), as a proxy in front of
    /// the vendor might send.
    HtmlPage,
    /// The vendor's token-expired answer (HTTP 200), the same bodies token mode uses: WeChat
    /// `errcode` 42001, Baidu gateway `error_code` 111, Kuaishou `result` 100200108.
    ExpiredToken,
    /// An HTTP error status with a JSON body that is not the vendor's envelope
    /// (`{"error":"not found"}`), as a gateway or load balancer might send.
    ForeignJson(u16),
    /// An HTTP error status with an HTML error page (Content-Type `text/html`).
    HtmlStatus(u16),
    /// An HTTP status with an empty body.
    EmptyBody(u16),
    /// The vendor's "system busy" envelope (the bodies of [`Fault::Busy`]) with an HTTP error
    /// status.
    BusyWithStatus(u16),
    /// 429 Too Many Requests with `Retry-After: <seconds>`.
    TooManyRequests {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// A 200 answer whose JSON body is `{}`.
    EmptyObject,
    /// A 200 answer whose JSON body is `null`.
    NullBody,
    /// A 302 redirect to another origin (`http://redirected.invalid/…`), which a client that
    /// carries tokens in the query must not follow.
    RedirectElsewhere,
    /// Serve the request in full (a write is applied, a token issued), then close the
    /// connection without answering: the client cannot know the outcome.
    AppliedThenReset,
    /// Serve the request in full, then answer this HTTP error status instead (as a gateway
    /// that timed out on an upstream that did the work).
    AppliedThenStatus(u16),
}

impl Fault {
    /// The default choice of [`SandboxOptions::random_faults`]: `Status` 500, 502 and 503,
    /// `Busy`, `ResetBeforeResponse`, `ResetMidBody`, `Truncated`, `NotJson`, `HtmlPage`,
    /// `ExpiredToken`, `ForeignJson(404)`, `HtmlStatus(502)`, `EmptyBody(503)`,
    /// `BusyWithStatus(500)`, `TooManyRequests` (Retry-After 0), `EmptyObject`, `NullBody` and
    /// `RedirectElsewhere` (every variant except `Slow`).
    pub fn random_defaults() -> Vec<Fault> {
        vec![
            Fault::Status(500),
            Fault::Status(502),
            Fault::Status(503),
            Fault::Busy,
            Fault::ResetBeforeResponse,
            Fault::ResetMidBody,
            Fault::Truncated,
            Fault::NotJson,
            Fault::HtmlPage,
            Fault::ExpiredToken,
            Fault::ForeignJson(404),
            Fault::HtmlStatus(502),
            Fault::EmptyBody(503),
            Fault::BusyWithStatus(500),
            Fault::TooManyRequests {
                retry_after_secs: 0,
            },
            Fault::EmptyObject,
            Fault::NullBody,
            Fault::RedirectElsewhere,
        ]
    }

    /// Whether the fault delivers the normal answer (delayed or cut), so the request must be
    /// fully served first.
    pub(crate) fn needs_answer(&self) -> bool {
        matches!(
            self,
            Fault::Slow(_)
                | Fault::ResetMidBody
                | Fault::Truncated
                | Fault::AppliedThenReset
                | Fault::AppliedThenStatus(_)
        )
    }
}

/// The marker (a response extension) that asks the connection task to close the connection
/// instead of sending the response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AbortConnection;

/// How long [`CutBody`] waits after its part, so that hyper flushes the head and the part
/// before the connection is closed.
const MID_BODY_PAUSE: Duration = Duration::from_millis(20);

/// The HTML page of [`Fault::HtmlPage`].
const HTML_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// The answer of `fault` for an endpoint of `vendor`, built from the `normal` answer (which is
/// only meaningful when [`Fault::needs_answer`]).
pub(crate) async fn apply(fault: &Fault, vendor: Vendor, normal: Response) -> Response {
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code)
                .ok()
                .filter(|s| s.as_u16() >= 200)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("Error");
            text(
                status,
                "text/plain; charset=utf-8",
                format!("{} {reason} (sandbox fault)\n", status.as_u16()),
            )
        }
        // A vendor that documents no busy code has nothing to say it with but an HTTP 503.
        Fault::Busy if envelope::facts(vendor).busy_codes.is_empty() => {
            respond::json_status(StatusCode::SERVICE_UNAVAILABLE, envelope::busy(vendor))
        }
        Fault::Busy => respond::json(envelope::busy(vendor)),
        Fault::BusyWithStatus(code) => {
            respond::json_status(error_status(*code), envelope::busy(vendor))
        }
        Fault::ForeignJson(code) => text(
            error_status(*code),
            "application/json",
            r#"{"error":"not found"}"#,
        ),
        Fault::HtmlStatus(code) => text(error_status(*code), "text/html", HTML_PAGE),
        Fault::EmptyBody(code) => text(
            StatusCode::from_u16(*code).unwrap_or(StatusCode::OK),
            "application/json",
            "",
        ),
        Fault::TooManyRequests { retry_after_secs } => {
            let mut response = text(
                StatusCode::TOO_MANY_REQUESTS,
                "text/plain; charset=utf-8",
                "429 Too Many Requests (sandbox fault)\n",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            response
        }
        Fault::EmptyObject => text(StatusCode::OK, "application/json", "{}"),
        Fault::NullBody => text(StatusCode::OK, "application/json", "null"),
        Fault::RedirectElsewhere => {
            let mut response = text(StatusCode::FOUND, "text/plain", "");
            response.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_static("http://redirected.invalid/elsewhere"),
            );
            response
        }
        Fault::Slow(delay) => {
            tokio::time::sleep(*delay).await;
            normal
        }
        Fault::AppliedThenStatus(code) => {
            drop(normal);
            let status = error_status(*code);
            text(
                status,
                "text/plain; charset=utf-8",
                format!("{} (sandbox fault, request applied)\n", status.as_u16()),
            )
        }
        Fault::ResetBeforeResponse | Fault::AppliedThenReset => {
            let mut response = Response::default();
            response.extensions_mut().insert(AbortConnection);
            response
        }
        Fault::ResetMidBody => {
            let (mut parts, full) = collect(normal).await;
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
            let part = full.slice(..full.len() / 2);
            Response::from_parts(
                parts,
                Body::new(CutBody {
                    part: Some(part),
                    full_len: full.len() as u64,
                    pause: None,
                }),
            )
        }
        Fault::Truncated => {
            let (mut parts, full) = collect(normal).await;
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(full.slice(..full.len() / 2)))
        }
        Fault::NotJson => text(StatusCode::OK, "application/json", "not json at all"),
        Fault::HtmlPage => text(StatusCode::OK, "text/html", HTML_PAGE),
        Fault::ExpiredToken => respond::json(envelope::token_fault(vendor, TokenFault::Expired)),
    }
}

/// The vendor's "system busy" envelope.
/// `code` as an error status (400..=999), else 500.
fn error_status(code: u16) -> StatusCode {
    StatusCode::from_u16(code)
        .ok()
        .filter(|s| s.as_u16() >= 400)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn text(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .expect("valid response parts")
}

/// The head and whole body of an answer the sandbox built (its bodies are in memory).
async fn collect(response: Response) -> (axum::http::response::Parts, Bytes) {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_else(|e| {
            tracing::error!("sandbox: cannot read its own answer: {e}");
            Bytes::new()
        });
    (parts, bytes)
}

/// The body of [`Fault::ResetMidBody`]: announces `full_len` bytes, yields `part`, pauses (so
/// the head and the part are flushed), then fails, which makes hyper close the connection.
struct CutBody {
    part: Option<Bytes>,
    full_len: u64,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for CutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(part) = self.part.take() {
            self.pause = Some(Box::pin(tokio::time::sleep(MID_BODY_PAUSE)));
            if !part.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(part))));
            }
        }
        if let Some(pause) = self.pause.as_mut() {
            ready!(pause.as_mut().poll(cx));
        }
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox fault: connection reset mid-body",
        ))))
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.full_len)
    }
}

/// A splitmix64 generator: small, fast and the same sequence for the same seed everywhere.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0.0..1.0`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// One [`Sandbox::inject`](crate::Sandbox::inject) call.
#[derive(Debug)]
struct Rule {
    key: String,
    fault: Fault,
    /// Uses left; `None` for every request.
    left: Option<usize>,
}

#[derive(Debug)]
struct State {
    rules: Vec<Rule>,
    /// Recorded requests per `(vendor, endpoint name)`.
    hits: HashMap<(Vendor, String), usize>,
    rng: SplitMix64,
}

/// The fault state of one sandbox.
#[derive(Debug)]
pub(crate) struct Faults {
    rate: f64,
    random: Vec<Fault>,
    state: Mutex<State>,
}

impl Faults {
    pub(crate) fn new(options: &SandboxOptions) -> Faults {
        let rate = if options.fault_rate.is_nan() {
            0.0
        } else {
            options.fault_rate.clamp(0.0, 1.0)
        };
        Faults {
            rate,
            random: options.random_faults.clone(),
            state: Mutex::new(State {
                rules: Vec::new(),
                hits: HashMap::new(),
                rng: SplitMix64(options.fault_seed),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a rule: `fault` on the next `times` requests to the endpoint(s) named by `key`.
    pub(crate) fn inject(&self, key: &str, fault: Fault, times: Option<usize>) {
        self.state().rules.push(Rule {
            key: key.to_owned(),
            fault,
            left: times,
        });
    }

    /// Removes every rule.
    pub(crate) fn clear(&self) {
        self.state().rules.clear();
    }

    /// The fault for a request to endpoint `name` of `vendor`: the first matching rule with
    /// uses left (using one), else a random draw.
    pub(crate) fn pick(&self, vendor: Vendor, name: &str) -> Option<Fault> {
        let mut state = self.state();
        if let Some(rule) = state
            .rules
            .iter_mut()
            .find(|r| r.left != Some(0) && key_matches(&r.key, vendor, name))
        {
            if let Some(left) = &mut rule.left {
                *left -= 1;
            }
            return Some(rule.fault.clone());
        }
        if self.rate <= 0.0 || self.random.is_empty() {
            return None;
        }
        let roll = state.rng.unit();
        let index = state.rng.below(self.random.len());
        (roll < self.rate).then(|| self.random[index].clone())
    }

    /// Counts one recorded request to endpoint `name` of `vendor`.
    pub(crate) fn hit(&self, vendor: Vendor, name: &str) {
        *self
            .state()
            .hits
            .entry((vendor, name.to_owned()))
            .or_default() += 1;
    }

    /// How many requests the endpoint(s) named by `key` received.
    pub(crate) fn hits(&self, key: &str) -> usize {
        self.state()
            .hits
            .iter()
            .filter(|((vendor, name), _)| key_matches(key, *vendor, name))
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(rate: f64, seed: u64) -> Faults {
        Faults::new(&SandboxOptions {
            fault_rate: rate,
            fault_seed: seed,
            ..SandboxOptions::default()
        })
    }

    #[test]
    fn splitmix_is_repeatable_and_in_range() {
        let mut a = SplitMix64(7);
        let mut b = SplitMix64(7);
        for _ in 0..1000 {
            let u = a.unit();
            assert!((0.0..1.0).contains(&u));
            assert_eq!(u.to_bits(), b.unit().to_bits());
            assert!(a.below(3) < 3);
            b.below(3);
        }
        // The reference splitmix64 output for seed 0.
        assert_eq!(SplitMix64(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn rules_match_in_order_and_run_out() {
        let f = faults(0.0, 0);
        f.inject("wechat/A", Fault::Busy, Some(1));
        f.inject("A", Fault::NotJson, Some(2));
        f.inject("B", Fault::Truncated, None);
        assert_eq!(
            f.pick(Vendor::new("kuaishou").unwrap(), "A"),
            Some(Fault::NotJson)
        );
        assert_eq!(
            f.pick(Vendor::new("wechat").unwrap(), "A"),
            Some(Fault::Busy)
        );
        assert_eq!(
            f.pick(Vendor::new("wechat").unwrap(), "A"),
            Some(Fault::NotJson)
        );
        assert_eq!(f.pick(Vendor::new("wechat").unwrap(), "A"), None);
        for _ in 0..5 {
            assert_eq!(
                f.pick(Vendor::new("baidu").unwrap(), "B"),
                Some(Fault::Truncated)
            );
        }
        f.inject("C", Fault::Busy, Some(0));
        assert_eq!(f.pick(Vendor::new("baidu").unwrap(), "C"), None);
        f.clear();
        assert_eq!(f.pick(Vendor::new("baidu").unwrap(), "B"), None);
    }

    #[test]
    fn random_draws_follow_the_seed_and_rate() {
        let draw = |rate: f64, seed: u64| {
            let f = faults(rate, seed);
            (0..200)
                .map(|_| f.pick(Vendor::new("wechat").unwrap(), "A"))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(0.5, 42), draw(0.5, 42));
        assert_ne!(draw(0.5, 42), draw(0.5, 43));
        assert!(draw(0.0, 42).iter().all(Option::is_none));
        assert!(draw(f64::NAN, 42).iter().all(Option::is_none));
        assert!(draw(1.0, 42).iter().all(Option::is_some));
        let half = draw(0.5, 1).iter().filter(|f| f.is_some()).count();
        assert!((60..140).contains(&half), "{half}");
        let chosen: Vec<Fault> = draw(1.0, 3).into_iter().flatten().collect();
        for fault in Fault::random_defaults() {
            assert!(chosen.contains(&fault), "{fault:?} never chosen");
        }
    }

    #[test]
    fn hits_count_by_name_or_vendor() {
        let f = faults(0.0, 0);
        f.hit(Vendor::new("wechat").unwrap(), "A");
        f.hit(Vendor::new("kuaishou").unwrap(), "A");
        f.hit(Vendor::new("kuaishou").unwrap(), "B");
        assert_eq!(f.hits("A"), 2);
        assert_eq!(f.hits("wechat/A"), 1);
        assert_eq!(f.hits("baidu/A"), 0);
        assert_eq!(f.hits("B"), 1);
        assert_eq!(f.hits("C"), 0);
    }
}
