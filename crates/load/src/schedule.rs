//! When each arrival of the open model is due: arrival k (k = 1, 2, …) at
//! the moment the integral of the rate reaches k − ½. The rate is piecewise
//! linear (a start rate, then stages that ramp to theirs), so the moment is
//! a root of a quadratic, found exactly: a stage at rate 0 has no arrivals,
//! a ramp from 0 to R over T has R·T/2 of them (±½), and a steep ramp is
//! not skipped over as a step of `1 / rate` would skip it.
//!
//! With `poisson` arrivals the integral advances by a seeded exponential
//! draw instead of 1 (a Poisson process of the same intensity, the same
//! every run with the same seed). Shards take every N-th arrival of the one
//! schedule, so together they make exactly the whole.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, Exp1};

/// One linear piece: from `start` for `length` seconds, rate `from` → `to`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Piece {
    start: f64,
    length: f64,
    from: f64,
    to: f64,
    /// The integral of the rate before `start`.
    before: f64,
}

impl Piece {
    fn area(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.length
    }

    /// Seconds into the piece at which its own integral reaches `a`
    /// (0 ≤ a ≤ area): the root of `from·t + (to − from)/(2·length)·t² = a`,
    /// in the form that stays exact when either term vanishes.
    fn time_of(&self, a: f64) -> f64 {
        if a <= 0.0 {
            return 0.0;
        }
        let half_slope = if self.length > 0.0 {
            (self.to - self.from) / (2.0 * self.length)
        } else {
            0.0
        };
        let disc = (self.from * self.from + 4.0 * half_slope * a).max(0.0);
        let denominator = self.from + disc.sqrt();
        if denominator > 0.0 {
            (2.0 * a / denominator).min(self.length)
        } else {
            self.length
        }
    }
}

/// The rate over time, and the arrivals it makes.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pieces: Vec<Piece>,
    /// The rate after the last stage, for ever.
    tail: f64,
}

impl Schedule {
    /// A start rate, then `(duration, rate)` stages, each a linear ramp.
    pub fn new(start: f64, stages: &[(Duration, f64)]) -> Schedule {
        let (mut at, mut from, mut before) = (0.0, start, 0.0);
        let mut pieces = Vec::with_capacity(stages.len());
        for &(length, to) in stages {
            let piece = Piece {
                start: at,
                length: length.as_secs_f64(),
                from,
                to,
                before,
            };
            before += piece.area();
            at += piece.length;
            from = to;
            pieces.push(piece);
        }
        Schedule { pieces, tail: from }
    }

    /// The highest rate it reaches (a ramp peaks at one of its ends).
    pub fn peak(&self) -> f64 {
        self.pieces
            .iter()
            .flat_map(|p| [p.from, p.to])
            .fold(self.tail, f64::max)
    }

    /// The rate `t` after the start.
    pub fn rate_at(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        for p in &self.pieces {
            if t < p.start + p.length {
                let f = if p.length > 0.0 {
                    (t - p.start) / p.length
                } else {
                    1.0
                };
                return p.from + (p.to - p.from) * f;
            }
        }
        self.tail
    }

    /// The integral of the rate over the first `t`: how many arrivals
    /// are due by then (plus ½).
    pub fn area_until(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let mut end_of_pieces = (0.0, 0.0);
        for p in &self.pieces {
            if t < p.start + p.length {
                let s = t - p.start;
                let slope = if p.length > 0.0 {
                    (p.to - p.from) / p.length
                } else {
                    0.0
                };
                return p.before + p.from * s + slope * s * s / 2.0;
            }
            end_of_pieces = (p.start + p.length, p.before + p.area());
        }
        let (start, before) = end_of_pieces;
        before + self.tail * (t - start).max(0.0)
    }

    /// When the integral reaches `a`; `None` if it never does (the rate
    /// falls to 0 for good before).
    pub fn time_of_area(&self, a: f64) -> Option<Duration> {
        let secs = match self
            .pieces
            .iter()
            .find(|p| a <= p.before + p.area() && p.area() > 0.0)
        {
            Some(p) => p.start + p.time_of(a - p.before),
            None => {
                let (start, before) = self
                    .pieces
                    .last()
                    .map_or((0.0, 0.0), |p| (p.start + p.length, p.before + p.area()));
                if self.tail <= 0.0 {
                    return None;
                }
                start + (a - before) / self.tail
            }
        };
        Duration::try_from_secs_f64(secs).ok()
    }
}

/// How the integral advances from one arrival to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrivals {
    /// Evenly: by exactly 1.
    #[default]
    Uniform,
    /// A Poisson process: by an exponential draw of mean 1.
    Poisson,
}

/// The arrivals of a schedule, in order: (global index from 0, due time).
#[derive(Debug)]
pub struct Arrival {
    schedule: Schedule,
    kind: Arrivals,
    rng: SmallRng,
    area: f64,
    index: u64,
}

impl Arrival {
    /// The arrivals of `schedule`; `seed` fixes the Poisson draws.
    pub fn new(schedule: Schedule, kind: Arrivals, seed: u64) -> Arrival {
        Arrival {
            schedule,
            kind,
            rng: SmallRng::seed_from_u64(seed),
            area: 0.0,
            index: 0,
        }
    }
}

impl Iterator for Arrival {
    type Item = (u64, Duration);

    fn next(&mut self) -> Option<(u64, Duration)> {
        let step: f64 = match self.kind {
            Arrivals::Uniform if self.index == 0 => 0.5,
            Arrivals::Uniform => 1.0,
            Arrivals::Poisson => Exp1.sample(&mut self.rng),
        };
        self.area += step;
        let at = self.schedule.time_of_area(self.area)?;
        let i = self.index;
        self.index += 1;
        Some((i, at))
    }
}

/// Smooth weighted round robin: which flow takes each arrival, so that over
/// any run of arrivals each flow's share is its weight's, within one.
#[derive(Debug, Clone)]
pub struct Mix {
    weights: Vec<f64>,
    current: Vec<f64>,
    total: f64,
}

impl Mix {
    /// Flows with these weights (each > 0).
    pub fn new(weights: &[f64]) -> Mix {
        Mix {
            weights: weights.to_vec(),
            current: vec![0.0; weights.len()],
            total: weights.iter().sum(),
        }
    }

    /// The flow of the next arrival.
    pub fn pick(&mut self) -> usize {
        let (mut best, mut highest) = (0, f64::MIN);
        for (i, (c, w)) in self.current.iter_mut().zip(&self.weights).enumerate() {
            *c += w;
            if *c > highest {
                (best, highest) = (i, *c);
            }
        }
        if let Some(c) = self.current.get_mut(best) {
            *c -= self.total;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The peak is the highest rate at any time, a ramp's top included.
    #[test]
    fn the_peak_is_the_highest_rate_reached() {
        let s = Schedule::new(10.0, &[(secs(2), 50.0), (secs(1), 20.0)]);
        let sampled = (0..=40)
            .map(|i| s.rate_at(Duration::from_millis(i * 100)))
            .fold(0.0, f64::max);
        assert_eq!((s.peak(), sampled), (50.0, 50.0));
        assert_eq!(Schedule::new(7.0, &[]).peak(), 7.0);
        assert_eq!(Schedule::new(0.0, &[(secs(1), 0.0)]).peak(), 0.0);
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn count_before(s: &Schedule, end: Duration) -> usize {
        Arrival::new(s.clone(), Arrivals::Uniform, 0)
            .take_while(|(_, t)| *t < end)
            .count()
    }

    #[test]
    fn a_ramp_from_zero_has_the_arrivals_its_area_says() {
        let s = Schedule::new(0.0, &[(secs(10), 100.0)]);
        assert_eq!(count_before(&s, secs(10)), 500);
        // Half the area lies in the last 30 % of the ramp.
        let first_half = count_before(&s, Duration::from_secs_f64(10.0 * 0.5f64.sqrt()));
        assert!((249..=251).contains(&first_half), "{first_half}");
    }

    #[test]
    fn multi_stage_schedules_match_their_integrals() {
        let stages = [
            (secs(5), 40.0),  // 10 → 40: 125
            (secs(5), 40.0),  // 200
            (secs(2), 0.0),   // 40
            (secs(3), 0.0),   // none
            (secs(4), 250.0), // 500
        ];
        let s = Schedule::new(10.0, &stages);
        // The rate and its integral, worked out by hand stage by stage.
        let at = Duration::from_secs_f64;
        for (t, rate, area) in [
            (2.5, 25.0, 43.75),
            (7.0, 40.0, 205.0),
            (11.0, 20.0, 355.0),
            (13.0, 0.0, 365.0),
            (17.0, 125.0, 490.0),
            (30.0, 250.0, 865.0 + 250.0 * 11.0),
        ] {
            assert!((s.rate_at(at(t)) - rate).abs() < 1e-9, "rate at {t}");
            assert!((s.area_until(at(t)) - area).abs() < 1e-9, "area at {t}");
            // And back, where the rate is not 0 (the integral stands still
            // from 12 s to 15 s).
            if rate > 0.0 {
                let back = s.time_of_area(area).unwrap().as_secs_f64();
                assert!((back - t).abs() < 1e-6, "time of {area}: {back}");
            }
        }
        let total = count_before(&s, secs(19));
        assert!((864..=866).contains(&total), "{total}");
        for t in [1, 3, 7, 11, 12, 14, 16, 18] {
            let want = s.area_until(secs(t)).round() as i64;
            let got = count_before(&s, secs(t)) as i64;
            assert!((got - want).abs() <= 1, "at {t}s: {got} vs {want}");
        }
        // No arrival while the rate is 0.
        let during_pause = Arrival::new(s.clone(), Arrivals::Uniform, 0)
            .take_while(|(_, t)| *t < secs(15))
            .filter(|(_, t)| *t > Duration::from_secs_f64(12.01))
            .count();
        assert_eq!(during_pause, 0);
    }

    #[test]
    fn a_constant_rate_is_evenly_spaced() {
        let s = Schedule::new(4.0, &[]);
        let times: Vec<f64> = Arrival::new(s, Arrivals::Uniform, 0)
            .take(4)
            .map(|(_, t)| t.as_secs_f64())
            .collect();
        assert_eq!(times, [0.125, 0.375, 0.625, 0.875]);
    }

    #[test]
    fn a_rate_that_falls_to_zero_ends_the_arrivals() {
        let s = Schedule::new(10.0, &[(secs(1), 0.0)]);
        assert_eq!(Arrival::new(s, Arrivals::Uniform, 0).count(), 5);
    }

    #[test]
    fn poisson_arrivals_are_seeded_and_keep_the_mean() {
        let s = Schedule::new(1000.0, &[]);
        let a: Vec<_> = Arrival::new(s.clone(), Arrivals::Poisson, 7)
            .take(50)
            .collect();
        let b: Vec<_> = Arrival::new(s.clone(), Arrivals::Poisson, 7)
            .take(50)
            .collect();
        assert_eq!(a, b);
        let n = Arrival::new(s, Arrivals::Poisson, 7)
            .take_while(|(_, t)| *t < secs(10))
            .count() as f64;
        // 10,000 expected; 5 standard deviations is 500.
        assert!((n - 10_000.0).abs() < 500.0, "{n}");
    }

    /// Equal weights take turns, the first flow first.
    #[test]
    fn ties_go_to_the_first_flow() {
        let mut mix = Mix::new(&[1.0, 1.0, 2.0]);
        let picks: Vec<usize> = (0..8).map(|_| mix.pick()).collect();
        assert_eq!(picks, [2, 0, 1, 2, 2, 0, 1, 2]);
    }

    #[test]
    fn weights_give_their_shares_within_one() {
        let mut mix = Mix::new(&[80.0, 20.0, 1.0]);
        let mut counts = [0i64; 3];
        for n in 1..=1010i64 {
            counts[mix.pick()] += 1;
            for (c, w) in counts.iter().zip([80.0, 20.0, 1.0]) {
                let want = n as f64 * w / 101.0;
                assert!((*c as f64 - want).abs() <= 1.0, "after {n}: {counts:?}");
            }
        }
    }
}
