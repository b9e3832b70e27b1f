//! Fault injection: what a route does to a request before (or instead of)
//! answering it. Each fault fires at its own probability; a scheduled stall
//! window holds every request that arrives inside it until it closes, which
//! is how a load driver's coordinated-omission handling is tested.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use rand::Rng;
use rand_distr::{Distribution, Exp, Normal};
use serde::Deserialize;

use crate::route::Quirk;
use serde_spanned::Spanned;

/// A fault table that cannot be: what serde reports at its place in the
/// file (key names bare, since a configuration error takes out whatever
/// stands in quotes).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    /// A probability outside `[0, 1]`.
    #[error("probability must be between 0 and 1, not {0}")]
    Probability(f64),
    /// A capacity out of its bounds.
    #[error("capacity: slots from 1 to 100000, service_ms from 1 to 60000")]
    Capacity,
    /// A key the distribution needs is missing.
    #[error("{0} is required for this distribution")]
    Required(&'static str),
    /// A duration below zero.
    #[error("{0} must be ≥ 0")]
    Negative(&'static str),
    /// A uniform distribution whose maximum is below its minimum.
    #[error("max_ms must be ≥ min_ms")]
    MaxBelowMin,
    /// An exponential distribution of mean zero.
    #[error("mean_ms must be > 0")]
    ZeroMean,
    /// A distribution name not known.
    #[error("unknown distribution `{0}`; expected fixed, uniform, normal or exponential")]
    UnknownDistribution(String),
}

/// A probability in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Deserialize)]
#[serde(try_from = "f64")]
pub struct Probability(f64);

impl TryFrom<f64> for Probability {
    type Error = FaultError;
    fn try_from(p: f64) -> Result<Self, FaultError> {
        if (0.0..=1.0).contains(&p) {
            Ok(Probability(p))
        } else {
            Err(FaultError::Probability(p))
        }
    }
}

impl Probability {
    /// Always.
    pub const ONE: Probability = Probability(1.0);

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }

    fn fires(self, rng: &mut impl Rng) -> bool {
        self.0 > 0.0 && rng.random_bool(self.0)
    }
}

/// The faults and quirks of one route (`[faults.<route>]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteFaults {
    /// Added latency.
    pub latency: Option<Latency>,
    /// An error answer instead of the real one.
    pub error: Option<ErrorFault>,
    /// The connection is reset (TCP RST), no answer.
    pub reset: Option<Reset>,
    /// The request is held, then answered.
    pub stall: Option<Stall>,
    /// Every request arriving in the window is held until it closes.
    pub stall_window: Option<Spanned<StallWindow>>,
    /// A known capacity: a fixed number of requests served at once.
    pub capacity: Option<Capacity>,
    /// Contracts broken on purpose.
    pub quirks: Vec<Spanned<Quirk>>,
}

/// A server with a known capacity (`capacity = { slots = 4, service_ms = 20 }`):
/// `slots` requests are served at once, each for `service_ms`, and the
/// others wait their turn. Below `slots / service_ms` per millisecond
/// nothing waits; past it the queue, and the latency, grow without bound.
/// It is what a capacity search must find.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "CapacityTable")]
pub struct Capacity {
    /// Requests served at once.
    pub slots: usize,
    /// How long each is served.
    pub service: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapacityTable {
    slots: usize,
    service_ms: u64,
}

impl TryFrom<CapacityTable> for Capacity {
    type Error = FaultError;
    fn try_from(t: CapacityTable) -> Result<Self, FaultError> {
        if !(1..=100_000).contains(&t.slots) || !(1..=60_000).contains(&t.service_ms) {
            return Err(FaultError::Capacity);
        }
        Ok(Capacity {
            slots: t.slots,
            service: Duration::from_millis(t.service_ms),
        })
    }
}

impl Capacity {
    /// Requests per second it serves with no wait.
    pub fn per_second(&self) -> f64 {
        self.slots as f64 / self.service.as_secs_f64()
    }
}

/// Added latency, drawn from a distribution, at most `cap_ms`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "LatencyTable")]
pub struct Latency {
    /// The shape.
    pub distribution: LatencyDistribution,
    /// Upper bound of any one draw.
    pub cap: Duration,
    /// How often it applies.
    pub probability: Probability,
}

/// The shape of added latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencyDistribution {
    /// Always this much.
    Fixed(Duration),
    /// Evenly between two bounds.
    Uniform(Duration, Duration),
    /// Normal with mean and standard deviation, cut at zero.
    Normal(Duration, Duration),
    /// Exponential with this mean.
    Exponential(Duration),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyTable {
    distribution: String,
    ms: Option<f64>,
    min_ms: Option<f64>,
    max_ms: Option<f64>,
    mean_ms: Option<f64>,
    stddev_ms: Option<f64>,
    cap_ms: Option<f64>,
    probability: Option<Probability>,
}

fn millis(name: &'static str, v: Option<f64>) -> Result<Duration, FaultError> {
    let v = v.ok_or(FaultError::Required(name))?;
    Duration::try_from_secs_f64(v / 1000.0).map_err(|_| FaultError::Negative(name))
}

impl TryFrom<LatencyTable> for Latency {
    type Error = FaultError;
    fn try_from(t: LatencyTable) -> Result<Self, FaultError> {
        let distribution = match t.distribution.as_str() {
            "fixed" => LatencyDistribution::Fixed(millis("ms", t.ms)?),
            "uniform" => {
                let (lo, hi) = (millis("min_ms", t.min_ms)?, millis("max_ms", t.max_ms)?);
                if hi < lo {
                    return Err(FaultError::MaxBelowMin);
                }
                LatencyDistribution::Uniform(lo, hi)
            }
            "normal" => LatencyDistribution::Normal(
                millis("mean_ms", t.mean_ms)?,
                millis("stddev_ms", t.stddev_ms)?,
            ),
            "exponential" => {
                let mean = millis("mean_ms", t.mean_ms)?;
                if mean.is_zero() {
                    return Err(FaultError::ZeroMean);
                }
                LatencyDistribution::Exponential(mean)
            }
            other => return Err(FaultError::UnknownDistribution(other.to_owned())),
        };
        let cap = match t.cap_ms {
            Some(_) => millis("cap_ms", t.cap_ms)?,
            None => Duration::from_secs(60),
        };
        Ok(Latency {
            distribution,
            cap,
            probability: t.probability.unwrap_or(Probability::ONE),
        })
    }
}

impl Latency {
    /// One draw, within `[0, cap]`.
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        let secs = match self.distribution {
            LatencyDistribution::Fixed(d) => d.as_secs_f64(),
            LatencyDistribution::Uniform(lo, hi) => {
                rng.random_range(lo.as_secs_f64()..=hi.as_secs_f64())
            }
            LatencyDistribution::Normal(mean, sd) => {
                Normal::new(mean.as_secs_f64(), sd.as_secs_f64())
                    .map_or(mean.as_secs_f64(), |n| n.sample(rng))
            }
            LatencyDistribution::Exponential(mean) => {
                Exp::new(1.0 / mean.as_secs_f64()).map_or(mean.as_secs_f64(), |e| e.sample(rng))
            }
        };
        Duration::try_from_secs_f64(secs.max(0.0))
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

/// An error answer in place of the real one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFault {
    /// How often.
    pub probability: Probability,
    /// The status, e.g. 503.
    #[serde(deserialize_with = "status_code")]
    pub status: StatusCode,
    /// The body.
    #[serde(default)]
    pub body: String,
    /// Its media type.
    #[serde(default = "text_plain")]
    pub content_type: String,
    /// A `Retry-After` header, in seconds.
    pub retry_after_secs: Option<u64>,
}

fn text_plain() -> String {
    "text/plain".into()
}

fn status_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<StatusCode, D::Error> {
    let n = u16::deserialize(d)?;
    StatusCode::from_u16(n)
        .ok()
        .filter(|s| !s.is_informational())
        .ok_or_else(|| serde::de::Error::custom("expected a final HTTP status (200 to 599)"))
}

impl ErrorFault {
    fn response(&self) -> Response<Bytes> {
        let mut res = Response::new(Bytes::from(self.body.clone()));
        *res.status_mut() = self.status;
        if let Ok(v) = HeaderValue::from_str(&self.content_type) {
            res.headers_mut().insert(http::header::CONTENT_TYPE, v);
        }
        if let Some(s) = self.retry_after_secs {
            res.headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}

/// A connection reset.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    /// How often.
    pub probability: Probability,
}

/// A held request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    /// How often.
    pub probability: Probability,
    /// How long it is held.
    pub ms: u64,
}

/// A window, in milliseconds after the stub started.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StallWindow {
    /// Start.
    pub from_ms: u64,
    /// End: requests arriving in `[from_ms, until_ms)` are answered at `until_ms`.
    pub until_ms: u64,
}

/// What the faults decided for one request.
#[derive(Debug)]
pub(crate) struct Decision {
    /// How long to hold the request first.
    pub(crate) hold: Duration,
    /// What to do after.
    pub(crate) action: Action,
}

/// After the hold.
#[derive(Debug)]
pub(crate) enum Action {
    /// Answer for real.
    Answer,
    /// Reset the connection.
    Reset,
    /// Send this instead.
    Error(Response<Bytes>),
}

impl RouteFaults {
    /// Draws the faults of one request that arrived `since_start` after the
    /// stub began. The stall window, a stall and latency add up; then a
    /// reset beats an error answer.
    pub(crate) fn decide(&self, since_start: Duration, rng: &mut impl Rng) -> Decision {
        let mut hold = Duration::ZERO;
        if let Some(w) = &self.stall_window {
            let (from, until) = (
                Duration::from_millis(w.get_ref().from_ms),
                Duration::from_millis(w.get_ref().until_ms),
            );
            if since_start >= from && since_start < until {
                hold += until - since_start;
            }
        }
        if let Some(s) = &self.stall
            && s.probability.fires(rng)
        {
            hold += Duration::from_millis(s.ms);
        }
        if let Some(l) = &self.latency
            && l.probability.fires(rng)
        {
            hold += l.sample(rng);
        }
        let action = if self
            .reset
            .as_ref()
            .is_some_and(|r| r.probability.fires(rng))
        {
            Action::Reset
        } else if let Some(e) = self.error.as_ref().filter(|e| e.probability.fires(rng)) {
            Action::Error(e.response())
        } else {
            Action::Answer
        };
        Decision { hold, action }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn latency(toml_text: &str) -> Result<Latency, String> {
        #[derive(Deserialize)]
        struct T {
            latency: Latency,
        }
        toml::from_str::<T>(toml_text)
            .map(|t| t.latency)
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn draws_stay_within_the_cap() {
        let l = latency("latency = { distribution = \"exponential\", mean_ms = 50, cap_ms = 80 }")
            .unwrap();
        let mut rng = SmallRng::seed_from_u64(7);
        let draws: Vec<_> = (0..10_000).map(|_| l.sample(&mut rng)).collect();
        assert!(draws.iter().all(|d| *d <= Duration::from_millis(80)));
        assert!(
            draws.iter().any(|d| *d == Duration::from_millis(80)),
            "the cap is reached"
        );
        let mean = draws.iter().map(Duration::as_secs_f64).sum::<f64>() / 10_000.0;
        // An exponential of mean 50 ms cut at 80 ms has mean 50·(1 − e^−1.6) ≈ 39.9 ms.
        assert!((mean - 0.0399).abs() < 0.002, "mean {mean}");
    }

    #[test]
    fn normal_is_cut_at_zero_and_has_its_mean() {
        let l = latency("latency = { distribution = \"normal\", mean_ms = 20, stddev_ms = 5 }")
            .unwrap();
        let mut rng = SmallRng::seed_from_u64(1);
        let mean = (0..10_000)
            .map(|_| l.sample(&mut rng).as_secs_f64())
            .sum::<f64>()
            / 10_000.0;
        assert!((mean - 0.020).abs() < 0.0005, "mean {mean}");
    }

    #[test]
    fn each_distribution_names_what_it_lacks() {
        assert!(
            latency("latency = { distribution = \"uniform\", min_ms = 1 }")
                .unwrap_err()
                .contains("max_ms")
        );
        assert!(
            latency("latency = { distribution = \"pareto\", ms = 1 }")
                .unwrap_err()
                .contains("unknown distribution")
        );
        assert!(
            latency("latency = { distribution = \"fixed\", ms = -3 }")
                .unwrap_err()
                .contains("≥ 0")
        );
    }

    #[test]
    fn the_stall_window_holds_until_it_closes() {
        let f: RouteFaults =
            toml::from_str("stall_window = { from_ms = 1000, until_ms = 3000 }").unwrap();
        let rng = SmallRng::seed_from_u64(0);
        let at = |ms| f.decide(Duration::from_millis(ms), &mut rng.clone()).hold;
        assert_eq!(at(999), Duration::ZERO);
        assert_eq!(at(1000), Duration::from_millis(2000));
        assert_eq!(at(2500), Duration::from_millis(500));
        assert_eq!(at(3000), Duration::ZERO);
    }
}
