//! How a sandbox is configured.

use std::time::Duration;

use crate::Fault;

/// How a [`Sandbox`](crate::Sandbox) treats tokens and whether it injects random faults;
/// [`Default`] keeps the plain behaviour (any non-empty token is accepted, token endpoints
/// answer their document example, no fault is injected).
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Enforce issued tokens on every endpoint's credentials (default false: any non-empty
    /// token is accepted, as today).
    ///
    /// When true, token endpoints (spec `token`) issue fresh tokens, and every
    /// `component_access_token` / `authorizer_access_token` credential must be an unexpired,
    /// unrevoked access token this sandbox issued for the same vendor and kind; otherwise the
    /// vendor's token-expired or token-invalid error answers.
    pub enforce_tokens: bool,
    /// Lifetime of issued access tokens (default 7200 s). `expires_in` answers whole seconds,
    /// rounded up, at least 1.
    pub token_lifetime: Duration,
    /// Extra delay before answering token endpoints (default zero), to widen race windows in
    /// tests.
    pub token_delay: Duration,
    /// Probability in `0.0..=1.0` that a request gets a random fault from
    /// [`random_faults`](Self::random_faults) (default 0.0: never).
    ///
    /// Only requests that match a spec endpoint and no [`Sandbox::inject`](crate::Sandbox::inject)
    /// rule are drawn for. Values below 0 (or NaN) count as 0, values above 1 as 1.
    pub fault_rate: f64,
    /// Seed of the random fault choice, for repeatable runs (default 0): the same seed, options
    /// and sequence of requests give the same sequence of faults.
    pub fault_seed: u64,
    /// The faults to choose from at random, with equal chances (default: every [`Fault`]
    /// variant except [`Fault::Slow`], with [`Fault::Status`] 500, 502 and 503; see
    /// [`Fault::random_defaults`]). Empty: nothing is injected at random.
    pub random_faults: Vec<Fault>,
    /// Authorized apps seeded per vendor (default 0): each gets an id
    /// (`wx_fleet_00001`, `ks_fleet_00001`, …; Baidu's are numbers: `1452001`, …) and a refresh token
    /// ([`Sandbox::fleet_apps`](crate::Sandbox::fleet_apps)); the tokens issued for it are bound
    /// to it, so the resources it reads and writes are its own.
    pub apps: usize,
    /// Serve every declared resource (spec `[[resources]]`) from per-app state, so a read
    /// returns what earlier writes set (default false: answers are the documents' examples).
    /// Always on when [`apps`](Self::apps) is above 0.
    pub stateful: bool,
    /// Added to every answer (default zero).
    pub latency: Duration,
    /// Every answer's latency varies uniformly by up to this much either way (default zero).
    pub latency_jitter: Duration,
    /// Requests per second each vendor accepts, token calls included (default `None`:
    /// unlimited); above it each vendor answers its own rate-limit code (`rate_limit_codes` of
    /// its `vendor.toml`: WeChat 45009, Baidu's gateway 18), and a vendor that documents none
    /// (Kuaishou) HTTP 429 with `Retry-After: 1`.
    pub rate_limit: Option<u32>,
    /// Counted writes (spec `counted = true`) each app may make per resource (default `None`:
    /// unlimited); then the resource's documented quota code answers.
    pub quota: Option<u32>,
    /// Specs served besides the built-in ones (default none): a spec of your own, e.g. a
    /// resource you declared, answered and stored like the vendors' (the built-in endpoints
    /// match first).
    pub extra_specs: Vec<miniapp_spec::SpecFile>,
    /// With [`SandboxOptions::enforce_tokens`]: the platform token is issued only for a ticket
    /// this sandbox pushed ([`crate::Sandbox::push_ticket`]), as a vendor does; any other
    /// ticket gets the vendor's `ticket_refused` code (WeChat 61006), or its invalid-request
    /// code where none is documented. Pushed tickets do not expire here (default `false`: any
    /// non-empty ticket).
    pub pushed_tickets_only: bool,
    /// How the apps' code lifecycle (specs' `[shipping]`: upload, code check, audit, release)
    /// behaves when the sandbox is stateful (`stateful`, or `apps` above 0): check and audit
    /// durations, the rejected share, the provider's audit quota.
    pub code: crate::CodeOptions,
}

impl Default for SandboxOptions {
    /// Tokens not enforced, a 7200 s lifetime, no delay, no random faults (rate 0, seed 0,
    /// the [`Fault::random_defaults`] to choose from), no seeded apps, no latency, rate limit
    /// or quota, any ticket accepted.
    fn default() -> Self {
        SandboxOptions {
            enforce_tokens: false,
            token_lifetime: Duration::from_secs(7200),
            token_delay: Duration::ZERO,
            fault_rate: 0.0,
            fault_seed: 0,
            random_faults: Fault::random_defaults(),
            apps: 0,
            stateful: false,
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            rate_limit: None,
            quota: None,
            extra_specs: Vec::new(),
            pushed_tickets_only: false,
            code: crate::CodeOptions::default(),
        }
    }
}
