//! The search's unit tests: the engine, the verdicts, the result, the
//! table and the merge, against report directories written by
//! `testdata`.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::engine::*;
use super::merge::merge;
use super::run::result;
use super::table::table;
use super::*;
use crate::scenario::LoadModel;

fn spec() -> Spec {
    Spec {
        from: 50.0,
        max: 1000.0,
        growth: Growth::Factor(2.0),
        step: Duration::from_secs(1),
        warmup: Duration::ZERO,
        precision: 0.05,
        error_cutoff: 0.1,
        driver_lag_limit: Duration::from_millis(5),
        repeat: 0,
    }
}

fn fail() -> StepVerdict {
    StepVerdict::Fail {
        broke: "p99 < 100ms".into(),
    }
}

/// Runs the engine against a server whose knee is `knee`.
fn search(mut engine: Engine, knee: f64) -> (Engine, Vec<f64>) {
    let mut rates = Vec::new();
    while let Some(rate) = engine.next_rate() {
        rates.push(rate);
        assert!(rates.len() < 100, "{rates:?}");
        let v = if rate <= knee {
            StepVerdict::Pass
        } else {
            fail()
        };
        engine.record(rate, &v);
    }
    (engine, rates)
}

/// A step's verdict from its summary: the driver first (its lag,
/// then its CPU unless the stub shares it), then the errors, then the
/// thresholds in order, each limit exclusive.
#[test]
fn a_steps_verdict_reads_driver_errors_then_thresholds() {
    // 100 acquisitions, `errors` of them failed; lag p99 and CPU share.
    let step = |errors: u64, lag_p99: f64, share: f64, stub: bool, t: &[(&str, bool)]| {
        let mut s = crate::testdata::summary(&[("cess", 100 - errors, errors)], 1.0);
        s["driver_lag_ms"] = serde_json::json!([0.0, lag_p99, 0.0]);
        s["cpu"] = serde_json::json!({"secs": 0.0, "per_acquisition_us": 0.0,
            "cores": 2, "share": share, "includes_stub": stub});
        s["thresholds"] = t
            .iter()
            .map(|(name, pass)| serde_json::json!({"threshold": name, "actual": 1.0, "pass": pass}))
            .collect();
        let s: Summary = serde_json::from_value(s).unwrap();
        StepVerdict::of(&s, &spec())
    };
    // spec(): lag limit 5 ms, error cutoff 10 %.
    let holds = [("p99 < 1s", true), ("p50 < 1s", true)];
    assert_eq!(step(10, 5.0, 0.9, false, &holds), StepVerdict::Pass);
    assert_eq!(step(10, 5.0, 0.9, false, &holds).name(), "pass");
    let lagged = step(0, 5.01, 0.0, false, &holds);
    assert!(
        matches!(&lagged, StepVerdict::DriverBottleneck { why } if why.contains("5.01 ms, over the 5.00 ms")),
        "{lagged:?}"
    );
    assert_eq!(lagged.name(), "driver");
    let busy = step(0, 0.0, 0.91, false, &holds);
    assert!(
        matches!(&busy, StepVerdict::DriverBottleneck { why } if why.contains("91% of its 2 core")),
        "{busy:?}"
    );
    // A stub in the same process shares the CPU: not the driver's.
    assert_eq!(step(0, 0.0, 0.99, true, &holds), StepVerdict::Pass);
    let errors = step(11, 0.0, 0.0, false, &holds);
    assert_eq!(errors, StepVerdict::TooManyErrors { errors: 0.11 });
    assert_eq!(errors.name(), "errors");
    let broke = step(
        0,
        0.0,
        0.0,
        false,
        &[("p99 < 1s", true), ("p50 < 2ms", false), ("x", false)],
    );
    assert_eq!(
        broke,
        StepVerdict::Fail {
            broke: "p50 < 2ms".into()
        }
    );
    assert_eq!(broke.name(), "fail");
    assert!(StepVerdict::Pass.passed() && !broke.passed());
}

/// A search's settings, each at the edges of what makes sense.
#[test]
fn settings_are_refused_past_their_edges() {
    // `extra`'s keys over a search from 50/s to 400/s.
    let of = |extra: &str| {
        let mut t: toml::Table = "model = \"search\"\nfrom = 50.0\nmax = 400.0"
            .parse()
            .unwrap();
        t.extend(extra.parse::<toml::Table>().unwrap());
        t.try_into::<LoadModel>().unwrap().search_spec()
    };
    let ok = |extra: &str| of(extra).unwrap_or_else(|e| panic!("{extra}: {e}"));
    assert_eq!(ok("").growth, Growth::Factor(2.0));
    assert_eq!(ok("max = 50.0").max, 50.0);
    assert_eq!(ok("factor = 1.01").growth, Growth::Factor(1.01));
    assert_eq!(ok("factor = 100.0").growth, Growth::Factor(100.0));
    assert_eq!(ok("increment = 10.0").growth, Growth::Increment(10.0));
    let s = ok("precision = 1.0\nerror_cutoff = 1.0\nrepeat = 20\nstep = \"2s\"");
    assert_eq!((s.precision, s.error_cutoff, s.repeat), (1.0, 1.0, 20));
    assert_eq!(s.step, Duration::from_secs(2));
    assert_eq!(ok("precision = 0.001").precision, 0.001);
    let month = Duration::from_secs(30 * 86_400);
    let s = ok("step = \"30d\"\nwarmup = \"30d\"");
    assert_eq!((s.step, s.warmup), (month, month));
    for (bad, says) in [
        ("from = 0.0", "`from` is above 0"),
        ("max = 49.0", "`max` at least `from`"),
        ("factor = 1.0", "`factor` is from 1.01 to 100"),
        ("factor = 100.5", "`factor` is from 1.01 to 100"),
        ("factor = 2.0\nincrement = 5.0", "not both"),
        ("increment = 0.0", "`increment` is above 0"),
        ("increment = inf", "`increment` is above 0"),
        ("step = \"31d\"", "at most 30 days"),
        ("step = \"0s\"", "`step` is above 0"),
        ("warmup = \"31d\"", "at most 30 days"),
        ("precision = 0.0009", "`precision` is from 0.001 to 1"),
        ("precision = 1.01", "`precision` is from 0.001 to 1"),
        ("error_cutoff = 0.0", "`error_cutoff` is above 0"),
        ("error_cutoff = 1.01", "`error_cutoff` is above 0"),
        ("repeat = 21", "`repeat` is at most 20"),
    ] {
        let e = of(bad).err().unwrap_or_else(|| panic!("{bad} was taken"));
        assert!(e.contains(says), "{bad}: {e}");
    }
    let open = toml::from_str::<LoadModel>("model = \"open\"\nrate = 5.0").unwrap();
    assert_eq!(open.search_spec().unwrap_err(), "not a search");
}

#[test]
fn it_grows_then_narrows_to_the_precision() {
    let (engine, rates) = search(Engine::new(spec()), 200.0);
    assert_eq!(&rates[..4], &[50.0, 100.0, 200.0, 400.0]);
    assert_eq!(engine.ending(), Some(Ending::Found));
    let found = engine.capacities()[0];
    assert!((200.0 / 1.05..=200.0).contains(&found), "{found} {rates:?}");
}

#[test]
fn from_failing_ends_it_and_max_passing_ends_it() {
    let (engine, rates) = search(Engine::new(spec()), 10.0);
    assert_eq!(
        (rates, engine.ending()),
        (vec![50.0], Some(Ending::FromFails))
    );
    let (engine, rates) = search(Engine::new(spec()), 5000.0);
    assert_eq!(rates, [50.0, 100.0, 200.0, 400.0, 800.0, 1000.0]);
    assert_eq!(engine.ending(), Some(Ending::AboveMax));
}

#[test]
fn errors_stop_the_growth_and_the_driver_ends_it_at_once() {
    let mut engine = Engine::new(spec());
    engine.next_rate();
    engine.record(50.0, &StepVerdict::Pass);
    let rate = engine.next_rate().unwrap();
    engine.record(rate, &StepVerdict::TooManyErrors { errors: 0.5 });
    // Never above 100 again: the bisection stays below it.
    while let Some(r) = engine.next_rate() {
        assert!(r > 50.0 && r < 100.0, "{r}");
        engine.record(r, &fail());
    }
    assert_eq!(engine.ending(), Some(Ending::Found));
    assert_eq!(engine.capacities(), [50.0]);
    let mut engine = Engine::new(spec());
    engine.next_rate();
    engine.record(50.0, &StepVerdict::DriverBottleneck { why: "lag".into() });
    assert_eq!(
        (engine.next_rate(), engine.ending()),
        (None, Some(Ending::DriverBottleneck))
    );
}

#[test]
fn repeats_narrow_the_same_bracket_again() {
    let mut s = spec();
    s.repeat = 2;
    let (engine, _) = search(Engine::new(s), 300.0);
    assert_eq!(engine.capacities().len(), 3);
    assert_eq!(engine.ending(), Some(Ending::Found));
}

#[test]
fn increments_grow_by_addition() {
    let mut s = spec();
    s.growth = Growth::Increment(100.0);
    let (_, rates) = search(Engine::new(s), 320.0);
    assert_eq!(&rates[..5], &[50.0, 150.0, 250.0, 350.0, 300.0]);
}

#[test]
fn a_ladder_runs_every_rate_whatever_the_verdicts() {
    let mut engine = Engine::ladder(spec());
    let mut rates = Vec::new();
    while let Some(rate) = engine.next_rate() {
        rates.push(rate);
        assert!(rates.len() < 100, "{rates:?}");
        engine.record(rate, &fail());
    }
    assert_eq!(rates, [50.0, 100.0, 200.0, 400.0, 800.0, 1000.0]);
    assert_eq!(engine.ending(), Some(Ending::Found));
    assert!(engine.capacities().is_empty());
}

/// A repeat starts again from the bracket the growth found, not from
/// the one the last bisection narrowed to.
#[test]
fn a_repeat_bisects_the_grown_bracket_again() {
    let mut s = spec();
    s.repeat = 1;
    let (engine, rates) = search(Engine::new(s), 300.0);
    // Grown to (200, 400); 300 passes, then (300, 400) narrows to
    // within 5 % of 300: 350, 325, 312.5 fail.
    let bisection = [300.0, 350.0, 325.0, 312.5];
    assert_eq!(&rates[..4], &[50.0, 100.0, 200.0, 400.0]);
    assert_eq!(&rates[4..], [bisection, bisection].concat(), "{rates:?}");
    assert_eq!(engine.capacities(), [300.0, 300.0]);
}

/// Sharded steps start at the same times: slots of warm-up, step,
/// grace and a second.
#[test]
fn sharded_steps_start_a_slot_apart() {
    let mut s = spec();
    s.warmup = Duration::from_millis(500);
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
    let grace = Duration::from_secs(2);
    // 0.5 + 1 + 2 + 1 = 4.5 s a step.
    assert_eq!(s.step_due(at, grace, 0), at);
    assert_eq!(s.step_due(at, grace, 3), at + Duration::from_millis(13_500));
}

/// A step as the result lists it.
fn step(index: usize, rate: f64, verdict: StepVerdict) -> StepRow {
    StepRow {
        index,
        rate,
        achieved_rate: rate - 0.5,
        verdict,
        started: 10 * index as u64,
        error_rate: 0.25,
        p50_ms: Some(1.5),
        p99_ms: None,
        lag_p99_ms: 0.125,
        dir: format!("step-{index:02}-{rate:.1}"),
    }
}

fn too_many() -> StepVerdict {
    StepVerdict::TooManyErrors { errors: 0.125 }
}

fn driver() -> StepVerdict {
    StepVerdict::DriverBottleneck { why: "lag".into() }
}

/// The capacity is the highest pass below the lowest failure (a pass
/// at or above it, by chance on a ladder, does not count); a ladder
/// ends as its lowest failure says.
#[test]
fn the_bracket_and_a_ladders_ending_come_from_the_lowest_failure() {
    let steps = [
        step(1, 50.0, StepVerdict::Pass),
        step(2, 400.0, StepVerdict::Pass),
        step(3, 200.0, fail()),
        step(4, 100.0, StepVerdict::Pass),
        step(5, 200.0, StepVerdict::Pass),
        step(6, 300.0, driver()),
    ];
    let (capacity, failing) = bracket(&steps);
    assert_eq!((capacity, failing.map(|s| s.index)), (Some(100.0), Some(3)));
    assert_eq!(ladder_ending(&steps), Ending::Found);
    let passes = [
        step(1, 50.0, StepVerdict::Pass),
        step(2, 100.0, StepVerdict::Pass),
    ];
    assert_eq!(bracket(&passes), (Some(100.0), None));
    assert_eq!(ladder_ending(&passes), Ending::AboveMax);
    assert_eq!(bracket(&[]), (None, None));
    let first = [step(1, 100.0, StepVerdict::Pass), step(2, 50.0, too_many())];
    assert_eq!(bracket(&first).0, None);
    assert_eq!(ladder_ending(&first), Ending::FromFails);
    let lag = [
        step(1, 50.0, StepVerdict::Pass),
        step(2, 100.0, driver()),
        step(3, 200.0, fail()),
    ];
    assert_eq!(ladder_ending(&lag), Ending::DriverBottleneck);
    assert_eq!(
        ladder_ending(&[step(1, 50.0, driver())]),
        Ending::DriverBottleneck
    );
    assert_eq!(broke(&step(1, 1.0, fail())), "p99 < 100ms");
    assert_eq!(
        broke(&step(1, 1.0, too_many())),
        "errors 12.50% over the cutoff"
    );
    assert_eq!(broke(&step(1, 1.0, driver())), "lag");
    assert_eq!(broke(&step(1, 1.0, StepVerdict::Pass)), "");
}

/// A result with every setting at a value of its own.
fn finished(ending: Ending, capacity: Option<f64>, failing: Option<f64>) -> SearchResult {
    SearchResult {
        schema: SCHEMA.into(),
        scenario: "knee".into(),
        started_at: "2026-12-04T00:00:00Z".into(),
        elapsed_secs: 12.25,
        from: 50.0,
        max: 1000.0,
        step_secs: 2.0,
        warmup_secs: 1.0,
        precision: 0.05,
        error_cutoff: 0.1,
        driver_lag_limit_ms: 5.0,
        run_id: None,
        shard: None,
        criteria: vec!["p99 < 100ms".into(), "p50 < 10ms".into()],
        ending,
        capacity,
        first_failing: failing,
        broke_first: failing.map(|_| "p99 < 100ms".into()),
        capacities: capacity.into_iter().collect(),
        steps: Vec::new(),
    }
}

#[test]
fn each_ending_has_its_sentence_and_its_status() {
    let said = |ending, capacity, failing| {
        let r = finished(ending, capacity, failing);
        (r.conclusion(), r.exit_code())
    };
    assert_eq!(
        said(Ending::Found, Some(100.0), Some(150.0)),
        (
            "capacity 100.0/s (the highest rate that met every threshold); \
             150.0/s failed first: p99 < 100ms"
                .into(),
            0
        )
    );
    assert_eq!(
        said(Ending::AboveMax, Some(1000.0), None),
        (
            "every rate up to max 1000.0/s met the thresholds: the capacity is above it".into(),
            0
        )
    );
    assert_eq!(
        said(Ending::FromFails, None, Some(50.0)),
        (
            "even the first rate 50.0/s failed: p99 < 100ms: lower `from`".into(),
            1
        )
    );
    assert_eq!(
        said(Ending::DriverBottleneck, Some(50.0), Some(100.0)),
        (
            "stopped: the driver, not the server, was the bottleneck at 100.0/s: p99 < 100ms; \
             give it more cores or shard the run"
                .into(),
            1
        )
    );
    assert_eq!(
        said(Ending::Interrupted, None, None),
        (
            "interrupted; the highest rate that passed so far: -".into(),
            130
        )
    );
}

/// The terminal table: the settings, a row per step with its reason,
/// the conclusion, the repeats' spread (only with repeats) and the time.
#[test]
fn the_table_lists_every_step_and_the_spread_of_repeats() {
    let mut r = finished(Ending::Found, Some(100.0), Some(150.0));
    r.steps = vec![
        step(1, 100.0, StepVerdict::Pass),
        step(2, 150.0, fail()),
        step(3, 125.0, too_many()),
        step(4, 112.5, driver()),
    ];
    let table = table(&r);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "knee — capacity search from 50.0/s to 1000.0/s, steps of 2 s after 1 s of warm-up, \
         precision 5%; criteria: p99 < 100ms, p50 < 10ms"
    );
    assert_eq!(
        lines[1],
        "step     rate/s  achieved/s    p50 ms    p99 ms   errors  lag p99 ms  verdict"
    );
    assert_eq!(
        lines[2],
        "   1      100.0        99.5      1.50         -   25.00%        0.12  pass"
    );
    assert!(lines[3].ends_with("  fail (p99 < 100ms)"), "{}", lines[3]);
    assert!(
        lines[4].ends_with("  errors (over the error cutoff)"),
        "{}",
        lines[4]
    );
    assert!(
        lines[5].starts_with("   4      112.5       112.0"),
        "{}",
        lines[5]
    );
    assert!(lines[5].ends_with("  driver (lag)"), "{}", lines[5]);
    assert_eq!(lines[6], format!("result: {}", r.conclusion()));
    assert_eq!(lines[7], "the search took 12.2 s");
    assert_eq!(lines.len(), 8);
    r.capacities = vec![100.0, 112.5, 106.2];
    let table = super::table(&r);
    assert!(
        table.contains("\nrepeats: capacities 100.0, 112.5, 106.2 (spread 100.0/s to 112.5/s)\n"),
        "{table}"
    );
}

/// A step's row from its report: the all-flows success percentiles,
/// not another key's.
#[test]
fn a_row_reads_the_steps_summary() {
    let mut s = crate::testdata::summary(&[("cess", 90, 10)], 2.0);
    let latency = |flow: &str, outcome: &str, p50: f64| {
        serde_json::json!({"flow": flow, "step": "total", "outcome": outcome, "count": 1,
            "mean_ms": 0.0, "p50_ms": p50, "p90_ms": 0.0, "p99_ms": p50 * 10.0,
            "p999_ms": 0.0, "max_ms": 0.0})
    };
    s["latency"] = serde_json::json!([
        latency("cess", "ok", 1.0),
        latency("all", "err", 2.0),
        latency("all", "ok", 3.0)
    ]);
    s["driver_lag_ms"] = serde_json::json!([0.5, 0.75, 1.0]);
    let s: Summary = serde_json::from_value(s).unwrap();
    let row = row(
        3,
        60.0,
        &s,
        StepVerdict::Pass,
        Path::new("out/step-03-60.0"),
    );
    assert_eq!(
        row,
        StepRow {
            index: 3,
            rate: 60.0,
            achieved_rate: 50.0,
            verdict: StepVerdict::Pass,
            started: 100,
            error_rate: 0.1,
            p50_ms: Some(3.0),
            p99_ms: Some(30.0),
            lag_p99_ms: 0.75,
            dir: "step-03-60.0".into(),
        }
    );
}

/// The search's result: its ending from the engine (a ladder's from
/// its steps), the capacities of each bisection or else the one, and
/// the settings as the spec and the plan say.
#[test]
fn the_result_says_how_the_engine_ended() {
    let text = "target = \"stub\"\nthresholds = [\"p99 < 100ms\"]\n[[flows]]\n\
                system = \"cognito\"\nclient_id = \"a\"\nclient_secret = { value = \"s\" }\n\
                [load]\nmodel = \"search\"\nfrom = 50\nmax = 1000\n";
    let plan = crate::Plan::parse(text, "s.toml", "knee").unwrap();
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400);
    let took = Duration::from_millis(2500);
    let (engine, rates) = search(Engine::new(spec()), 200.0);
    let steps: Vec<StepRow> = rates
        .iter()
        .enumerate()
        .map(|(i, r)| {
            step(
                i + 1,
                *r,
                if *r <= 200.0 {
                    StepVerdict::Pass
                } else {
                    fail()
                },
            )
        })
        .collect();
    let r = result(&plan, &spec(), &engine, steps.clone(), false, wall, took);
    assert_eq!(
        (r.ending, r.capacity, r.first_failing),
        (Ending::Found, Some(200.0), Some(206.3))
    );
    assert_eq!(r.capacities, engine.capacities());
    assert_eq!(r.broke_first.as_deref(), Some("p99 < 100ms"));
    assert_eq!(
        (r.scenario.as_str(), r.started_at.as_str()),
        ("knee", "1970-01-02T00:00:00.000Z")
    );
    assert_eq!(
        (r.elapsed_secs, r.step_secs, r.warmup_secs),
        (2.5, 1.0, 0.0)
    );
    assert_eq!(
        (r.from, r.max, r.precision, r.error_cutoff),
        (50.0, 1000.0, 0.05, 0.1)
    );
    assert_eq!(r.driver_lag_limit_ms, 5.0);
    assert_eq!(r.criteria, ["p99 < 100ms"]);
    assert_eq!((r.run_id, r.shard, r.steps), (None, None, steps));
    // Stopped before the engine ended, or asked to stop.
    let half = Engine::new(spec());
    assert_eq!(
        result(&plan, &spec(), &half, Vec::new(), false, wall, took).ending,
        Ending::Interrupted
    );
    let r = result(&plan, &spec(), &engine, Vec::new(), true, wall, took);
    assert_eq!(r.ending, Ending::Interrupted);
    // A shard's ladder: its own steps' ending, the one capacity.
    let mut ladder = Engine::ladder(spec());
    while ladder.next_rate().is_some() {}
    let sharded = plan
        .clone()
        .sharded(crate::scenario::Shard::parse("2/3", "r1".into(), None).unwrap());
    let steps = [step(1, 50.0, StepVerdict::Pass), step(2, 100.0, driver())];
    let r = result(
        &sharded,
        &spec(),
        &ladder,
        steps.to_vec(),
        false,
        wall,
        took,
    );
    assert_eq!(
        (r.ending, r.capacities),
        (Ending::DriverBottleneck, vec![50.0])
    );
    assert_eq!((r.run_id.as_deref(), r.shard), (Some("r1"), Some([2, 3])));
    // A repeat whose first step found the driver behind, above a rate a
    // threshold failed at in the first bisection: the engine's ending
    // (driver), not the one the steps would give a ladder (found).
    let mut s = spec();
    s.repeat = 1;
    let mut engine = Engine::new(s.clone());
    let mut steps = Vec::new();
    while let Some(rate) = engine.next_rate() {
        let verdict = match (engine.capacities().len(), rate) {
            (1, _) => driver(),
            (_, r) if r <= 200.0 => StepVerdict::Pass,
            _ => fail(),
        };
        engine.record(rate, &verdict);
        steps.push(step(steps.len() + 1, rate, verdict));
        assert!(steps.len() < 100);
    }
    assert_eq!(engine.ending(), Some(Ending::DriverBottleneck));
    assert_eq!(ladder_ending(&steps), Ending::Found);
    let r = result(&plan, &s, &engine, steps, false, wall, took);
    assert_eq!(r.ending, Ending::DriverBottleneck);
}

/// Shard `i` of a run's search: its `search.json` (steps at 50, 100
/// and 200/s) and each step's report, `(ok, errors, lag p99)` a step.
fn shard_search(dir: &Path, run_id: Option<&str>, i: u32, steps: [(u64, u64, f64); 3]) {
    let mut r = finished(Ending::Found, None, None);
    r.run_id = run_id.map(Into::into);
    r.shard = Some([i, 2]);
    r.elapsed_secs = f64::from(i) * 10.0;
    r.criteria = Vec::new();
    for (n, (rate, (ok, errors, lag))) in [50.0, 100.0, 200.0].into_iter().zip(steps).enumerate() {
        // Step dirs named by each shard's own order, not the index.
        let own = format!("own-{}-{}", i, 3 - n);
        r.steps.push(StepRow {
            dir: own.clone(),
            ..step(n + 1, rate, StepVerdict::Pass)
        });
        let mut s = crate::testdata::summary(&[("cess", ok, errors)], 1.0);
        s["run_id"] = run_id.into();
        s["shard"] = serde_json::json!([i, 2]);
        s["driver_lag_ms"] = serde_json::json!([0.0, lag, 0.0]);
        crate::testdata::write(
            &dir.join(own),
            &s,
            &[(0, "cess/total/ok".into(), vec![1000; ok as usize])],
        );
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("search.json"), serde_json::to_vec(&r).unwrap()).unwrap();
}

/// The merged steps are judged as one run: their counts add up, the
/// errors are the whole run's rate, the lag limit is the run's (ms).
#[test]
fn merging_shards_judges_each_merged_step() {
    let base = crate::testdata::dir("search-merge");
    let (one, two, out) = (base.join("1"), base.join("2"), base.join("out"));
    // 100/s: 5 errors in 20 (25 % > 10 %); 200/s: a lag of 6 ms > 5 ms.
    shard_search(
        &one,
        Some("r1"),
        1,
        [(10, 0, 1.0), (10, 0, 1.0), (10, 0, 1.0)],
    );
    shard_search(
        &two,
        Some("r1"),
        2,
        [(20, 0, 4.0), (5, 5, 1.0), (20, 0, 6.0)],
    );
    let merged = merge(&[&one, &two], &out).unwrap();
    let r = &merged.result;
    let started: Vec<u64> = r.steps.iter().map(|s| s.started).collect();
    assert_eq!(started, [30, 20, 30]);
    assert_eq!(r.steps[0].verdict, StepVerdict::Pass);
    assert_eq!(
        r.steps[1].verdict,
        StepVerdict::TooManyErrors { errors: 0.25 }
    );
    assert!(
        matches!(r.steps[2].verdict, StepVerdict::DriverBottleneck { .. }),
        "{:?}",
        r.steps[2]
    );
    assert_eq!(
        (r.ending, r.capacity, r.first_failing),
        (Ending::Found, Some(50.0), Some(100.0))
    );
    assert_eq!(
        r.broke_first.as_deref(),
        Some("errors 25.00% over the cutoff")
    );
    assert_eq!(
        (r.capacities.as_slice(), r.elapsed_secs, r.shard),
        (&[50.0][..], 20.0, None)
    );
    assert_eq!(r.run_id.as_deref(), Some("r1"));
    // Each merged step in a directory named as the first shard's.
    assert_eq!(r.steps[1].dir, "own-1-2");
    assert!(out.join("own-1-2/summary.json").exists());
    let written: SearchResult =
        serde_json::from_slice(&std::fs::read(out.join("search.json")).unwrap()).unwrap();
    assert_eq!(&written, r);
    // Not shards of one run, or not a search at all.
    shard_search(&two, Some("r2"), 2, [(1, 0, 0.0); 3]);
    assert!(
        merge(&[&one, &two], &out)
            .unwrap_err()
            .to_string()
            .contains("run ids differ")
    );
    shard_search(&one, None, 1, [(1, 0, 0.0); 3]);
    shard_search(&two, None, 2, [(1, 0, 0.0); 3]);
    assert!(
        merge(&[&one, &two], &out)
            .unwrap_err()
            .to_string()
            .contains("run ids differ")
    );
    let mut other: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.join("search.json")).unwrap()).unwrap();
    other["schema"] = "tokenprobe.search/0".into();
    std::fs::write(one.join("search.json"), other.to_string()).unwrap();
    assert!(
        merge(&[&one], &out)
            .unwrap_err()
            .to_string()
            .contains("schema \"tokenprobe.search/0\"")
    );
    assert_eq!(
        merge(&[], &out).unwrap_err().to_string(),
        "nothing to merge"
    );
    let _ = std::fs::remove_dir_all(base);
}
