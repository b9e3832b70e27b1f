//! Whole load runs against the stub on loopback (bounded in time and
//! count): coordinated omission, accounting under faults, the interval log
//! read back with hdrhistogram's own reader.

use std::path::PathBuf;

use tokenprobe_load::Plan;
use tokenprobe_load::recorder::{Key, Outcome};
use tokenprobe_load::report::{Summary, read_hlog};
use tokenprobe_stub::{Config, Stub};

mod support;

use support::accounted;
use support::route;

fn out_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tokenprobe-load-{name}-{}", std::process::id()))
}

const CESS_FLOW: &str = "[[flows]]\nsystem = \"cess\"\nclient_id = \"tokenprobe-demo\"\n\
    client_secret = { value = \"demo-secret\" }\nusername = \"12345678909\"\notp = { value = \"123456\" }\n";

async fn run(text: &str, name: &str) -> (Summary, PathBuf) {
    let text = format!("output = \"{}\"\n{text}", out_dir(name).display());
    let plan = Plan::parse(&text, &format!("{name}.toml"), name).unwrap();
    let (_stop, options) = support::quiet();
    let done = tokenprobe_load::run(&plan, options).await.unwrap();
    (done.summary, done.dir)
}

fn total_ok(s: &Summary) -> &tokenprobe_load::report::LatencyRow {
    s.latency
        .iter()
        .find(|r| r.key == tokenprobe_load::recorder::Key::all_ok())
        .expect("a total row")
}

/// A 1 s stall in a 10 s run at a constant rate: 10 % of acquisitions wait
/// for the stall's end, their waits spread evenly over 0–1 s. Measured from
/// the intended start, p95 is the middle of those waits (≈ 500 ms) and p99
/// their 90th percentile (≈ 900 ms), plus the base latency. The tolerance
/// is ±60 ms (timer and scheduling noise on a shared machine).
///
/// A closed model under the same stall hides it: its few users simply wait,
/// so only one acquisition per user sees the stall and p99 stays at the
/// base latency while the max shows the second.
#[tokio::test]
async fn coordinated_omission_open_model_sees_the_stall_and_closed_hides_it() {
    let stall = "[stub]\njwt = { algorithm = \"ES256\" }\n[stub.faults.cess]\nstall_window = { from_ms = 4000, until_ms = 5000 }\n";
    let open = format!(
        "target = \"stub\"\nthresholds = [\"p95 < 1h\"]\n{CESS_FLOW}[load]\nmodel = \"open\"\nrate = 100\n[limits]\nduration = \"10s\"\n{stall}"
    );
    let closed = format!(
        "target = \"stub\"\n{CESS_FLOW}[load]\nmodel = \"closed\"\nusers = 4\n[limits]\nduration = \"10s\"\n{stall}"
    );
    let ((open, _), (closed, _)) = tokio::join!(run(&open, "co-open"), run(&closed, "co-closed"));
    accounted(&open);
    accounted(&closed);
    let o = total_ok(&open);
    // p95 is not a column of the table; the threshold's measurement is it.
    let p95 = open.thresholds[0].actual.unwrap();
    assert!((p95 - 500.0).abs() < 60.0, "open p95 {p95} ms");
    assert!((o.p99_ms - 900.0).abs() < 60.0, "open p99 {} ms", o.p99_ms);
    let c = total_ok(&closed);
    assert!(
        c.p99_ms < 100.0,
        "closed p99 {} ms hides the stall",
        c.p99_ms
    );
    assert!(
        c.max_ms > 500.0,
        "closed max {} ms still shows it",
        c.max_ms
    );
    // Both views are shown: from the intended start, and from the actual
    // send, with the late sends counted; the closed model says what its
    // latencies are.
    let service = |s: &Summary| {
        s.latency
            .iter()
            .find(|r| {
                r.key.flow == "all"
                    && r.key.step.name() == "service"
                    && r.key.outcome == Outcome::Ok
            })
            .cloned()
            .expect("a service-time row")
    };
    let so = service(&open);
    assert_eq!(so.count, o.count);
    assert!(
        so.p50_ms <= o.p50_ms && so.max_ms <= o.max_ms,
        "{so:?} {o:?}"
    );
    let late = open
        .late
        .as_ref()
        .expect("late sends counted in the open model");
    assert_eq!(late.bound_ms, 1.0);
    assert!(late.count <= open.counts.started);
    let table = tokenprobe_load::report::table(&open);
    assert!(
        table.contains("from the actual send") && table.contains("all/service"),
        "{table}"
    );
    assert!(table.contains("coordinated omission"), "{table}");
    assert!(closed.late.is_none());
    let table = tokenprobe_load::report::table(&closed);
    assert!(
        table.contains("closed model: latencies are service times"),
        "{table}"
    );
    assert!(!table.contains("all/service"), "{table}");
}

#[tokio::test]
async fn every_acquisition_lands_in_exactly_one_bucket_under_faults() {
    let config = tokenprobe_config::stub_config(
        "[jwt]\nalgorithm = \"ES256\"\n[faults.cess]\n\
         error = { probability = 0.05, status = 503 }\nreset = { probability = 0.05 }\n\
         stall = { probability = 0.01, ms = 1500 }\n",
        "faults.toml",
    )
    .unwrap();
    let stub = Stub::start(config).await.unwrap();
    let text = format!(
        "target = \"{}\"\n{CESS_FLOW}[http]\ntimeout_ms = 1000\n[load]\nmodel = \"open\"\nrate = 300\nmax_in_flight = 8\n\
         [limits]\nduration = \"3s\"\n",
        stub.base_url()
    );
    let (s, dir) = run(&text, "accounting").await;
    accounted(&s);
    let e = &s.counts.errors;
    assert!(
        e.get(&"http_status(503)".parse().unwrap())
            .is_some_and(|n| *n > 0),
        "{e:?}"
    );
    assert!(
        e.get(&"connect".parse().unwrap()).is_some_and(|n| *n > 0),
        "{e:?}"
    );
    assert!(
        e.get(&"timeout".parse().unwrap()).is_some_and(|n| *n > 0),
        "{e:?}"
    );
    // The server saw every started acquisition exactly once.
    assert_eq!(stub.requests(route("cess")), s.counts.started);
    // And the interval log holds one value per finished acquisition.
    let log = std::fs::read(dir.join("latency.hlog")).unwrap();
    let totals = read_hlog(&log).unwrap().totals;
    let count = |outcome| {
        totals
            .get(&Key {
                outcome,
                ..Key::all_ok()
            })
            .map_or(0, |h| h.len())
    };
    assert_eq!(count(Outcome::Ok), s.counts.ok);
    assert_eq!(count(Outcome::Err), s.counts.error_total());
    // Each second's errors by label add up to the run's, and the report
    // draws them over time.
    let seconds = tokenprobe_load::report::error_log(
        &std::fs::read_to_string(dir.join("errors.csv")).unwrap(),
    );
    let mut by_label: std::collections::BTreeMap<String, f64> = Default::default();
    let csv = std::fs::read_to_string(dir.join("errors.csv")).unwrap();
    for line in csv.lines().skip(1) {
        let (rest, n) = line.rsplit_once(',').unwrap();
        let label = rest.splitn(3, ',').nth(2).unwrap().trim_matches('"');
        *by_label.entry(label.to_owned()).or_default() += n.parse::<f64>().unwrap();
    }
    for (label, n) in &s.counts.errors {
        if *label != tokenprobe_client::ErrorLabel::Cancelled {
            assert_eq!(
                by_label.get(&label.to_string()).copied(),
                Some(*n as f64),
                "{label}: {csv}"
            );
        }
    }
    assert!(!seconds.is_empty());
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Errors over time, by label") && html.contains("http_status(503)"));
}

#[tokio::test]
async fn the_interval_log_reads_back_with_hdrhistogram_and_re_renders() {
    let text = format!(
        "target = \"stub\"\n{CESS_FLOW}[load]\nmodel = \"open\"\nrate = 50\n[limits]\nduration = \"2500ms\"\n"
    );
    let (s, dir) = run(&text, "hlog").await;
    accounted(&s);
    let log = std::fs::read(dir.join("latency.hlog")).unwrap();
    // hdrhistogram's own reader, entry by entry.
    let mut intervals = 0;
    for entry in hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&log) {
        if let hdrhistogram::serialization::interval_log::LogEntry::Interval(_) = entry.unwrap() {
            intervals += 1;
        }
    }
    assert!(
        intervals >= 3 * 3,
        "one histogram per key and second: {intervals}"
    );
    let (again, _) = tokenprobe_load::output::report(&dir).unwrap();
    assert_eq!(again.latency, s.latency);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg"));
    // Read first: what the run was. The percentile axis is labelled at
    // the percentiles people quote, and nowhere else; each flow has its own
    // latency-over-time chart; nothing is fetched from the network.
    let parameters = html
        .find("<th align=\"left\">model</th><td>open")
        .expect("the parameters");
    assert!(parameters < html.find("<svg").unwrap());
    // Each chart's drawn text, its SVG alone.
    let svgs: Vec<&str> = html
        .split("<svg")
        .skip(1)
        .map(|rest| rest.split("</svg>").next().unwrap())
        .collect();
    let texts = |svg: &str| -> Vec<String> {
        svg.split("</text>")
            .filter_map(|t| t.rsplit('>').next())
            .map(|t| t.trim().to_owned())
            .collect()
    };
    // Two spectra (the flows' totals, then each step's on demand), each
    // labelled at the percentiles people quote and nowhere else.
    let spectra: Vec<&&str> = svgs
        .iter()
        .filter(|s| s.contains("Percentile spectrum"))
        .collect();
    assert_eq!(spectra.len(), 2);
    for svg in &spectra {
        let labels: Vec<String> = texts(svg)
            .into_iter()
            .filter(|t| t.ends_with('%'))
            .collect();
        assert_eq!(
            labels,
            ["50%", "90%", "99%", "99.9%", "99.99%"],
            "{labels:?}"
        );
    }
    // At a glance: the first spectrum draws the flows' totals only, its
    // legend under it, not over the data (no series named in any SVG); the
    // steps wait in a <details>; every chart has its caption and its values.
    let first = html.split("<svg").nth(1).unwrap();
    let legend = first
        .split("<ul class=\"legend\">")
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap();
    assert!(
        legend.contains("all/total") && legend.contains("cess/total"),
        "{legend}"
    );
    assert!(!legend.contains("cess/token"), "{legend}");
    for svg in &svgs {
        let names = texts(svg);
        assert!(
            !names
                .iter()
                .any(|t| t.contains("/total") || t.contains("/token")),
            "{names:?}"
        );
    }
    let steps = html
        .find("<details><summary>Each step's spectrum")
        .expect("steps on demand");
    assert!(html[steps..].contains("cess/token"));
    let figures = html.matches("<figure>").count();
    assert_eq!(figures, svgs.len());
    assert_eq!(html.matches("<figcaption>").count(), figures);
    assert_eq!(html.matches("<details><summary>values").count(), figures);
    assert!(html.contains("cess: latency over time"));
    for fetch in ["<script", "<link", "src=", "href=", "url(", "@import"] {
        assert!(!html.contains(fetch), "{fetch}");
    }
}

/// Every load scenario in `scenarios/` parses (with its `${VAR}`s filled
/// in). The `check-*.toml` files are for `tokenprobe check` only; the CLI
/// tests run them.
#[test]
fn the_shipped_scenarios_parse() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("check-"))
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut filled = String::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("${") {
            let end = rest[i..].find('}').unwrap() + i;
            let var = &rest[i + 2..end];
            filled.push_str(&rest[..i]);
            filled.push_str(if var.ends_with("URL") {
                "https://staging.example"
            } else {
                "12345678909"
            });
            rest = &rest[end + 1..];
        }
        filled.push_str(rest);
        Plan::parse(&filled, &path.display().to_string(), "x").unwrap_or_else(|e| panic!("{e}"));
        n += 1;
    }
    assert!(n >= 6, "{n} scenarios");
}

mod parsers_never_panic {
    use proptest::prelude::*;
    use tokenprobe_load::Plan;
    use tokenprobe_load::recorder::Key;
    use tokenprobe_load::threshold::Threshold;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn thresholds(text in "\\PC{0,40}") {
            let _ = text.parse::<Threshold>();
        }

        #[test]
        fn thresholds_near_the_grammar(
            metric in "(p[0-9.]{0,6}|max|mean|error_rate|achieved_rate|[a-z]{0,5})",
            scope in "(\\([a-z/]{0,10}\\)?)?",
            op in "(<|<=|>|>=|=|)",
            value in "[0-9.]{0,6}(ms|s|us|%|h|x|)",
        ) {
            let _ = format!("{metric}{scope} {op} {value}").parse::<Threshold>();
        }

        #[test]
        fn scenarios(text in "\\PC{0,200}") {
            let _ = Plan::parse(&text, "fuzz.toml", "fuzz");
        }

        #[test]
        fn scenario_expansions(prefix in "[a-z =\"\\n]{0,20}", var in "[A-Z_${}]{0,12}", suffix in "[a-z =\"\\n}]{0,20}") {
            let _ = Plan::parse(&format!("{prefix}${{{var}{suffix}"), "fuzz.toml", "fuzz");
        }

        #[test]
        fn tags(text in "\\PC{0,30}") {
            if let Some(k) = Key::from_tag(&text) {
                prop_assert_eq!(Key::from_tag(&k.tag()), Some(k));
            }
        }

        #[test]
        fn interval_logs(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = tokenprobe_load::report::read_hlog(&bytes);
        }
    }
}

/// `private_key_jwt` under load: a fresh assertion per acquisition (the
/// stub refuses a `jti` it has seen), every one accounted for, and the
/// signing inside the CPU figure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_jwt_signs_a_fresh_assertion_per_acquisition() {
    for key in ["client-es256.pem", "client-rs256.pem"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../stub/demo-keys")
            .join(key);
        let text = format!(
            "target = \"stub\"\n[stub]\njwt = {{ algorithm = \"ES256\" }}\n[[flows]]\nsystem = \"cognito\"\n\
             client_id = \"tokenprobe-demo-key\"\nauth = \"private_key_jwt\"\n\
             private_key = {{ file = \"{}\" }}\n[load]\nmodel = \"open\"\nrate = 200\n\
             [limits]\nduration = \"1s\"\n",
            path.display()
        );
        let (s, _) = run(&text, "pkjwt").await;
        accounted(&s);
        assert!(s.counts.started >= 150, "{key}: {:?}", s.counts);
        assert_eq!(
            s.counts.ok, s.counts.started,
            "{key}: {:?}",
            s.counts.errors
        );
    }
}

/// A flow that names its issuer is sent where the issuer's metadata says
/// (the scenario's own target is a dead port here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_found_by_its_issuer_loads_its_token_endpoint() {
    let stub = Stub::start({
        let mut c = Config::default();
        c.jwt.algorithm = tokenprobe_protocol::jwt::Algorithm::ES256;
        c
    })
    .await
    .unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let text = format!(
        "target = \"http://{dead}\"\n[[flows]]\nsystem = \"cognito\"\nissuer = \"{}\"\n\
         client_id = \"tokenprobe-demo\"\nclient_secret = {{ value = \"demo-secret\" }}\n\
         [load]\nmodel = \"open\"\nrate = 100\n[limits]\nacquisitions = 50\n",
        stub.base_url()
    );
    let (s, _) = run(&text, "issuer").await;
    accounted(&s);
    assert_eq!(s.counts.ok, 50, "{:?}", s.counts.errors);
    assert_eq!(stub.requests(route("cognito")), 50);
}

/// Answers at once with the seed's CESS grant, except that the first
/// request each thread sends after `from` blocks that thread for 500 ms:
/// a worker stalled (its timer and its acquisitions with it), by an
/// amount it measures.
#[derive(Clone)]
struct Stalling {
    from: std::time::Instant,
    /// Per stalled thread: how long it was blocked in fact.
    stalls: std::sync::Arc<std::sync::Mutex<Vec<(std::thread::ThreadId, std::time::Duration)>>>,
}

impl tokenprobe_client::Exchange for Stalling {
    async fn send(
        &self,
        _req: http::Request<bytes::Bytes>,
    ) -> Result<tokenprobe_client::Answer, tokenprobe_client::ClientError> {
        let me = std::thread::current().id();
        let stall = self.from.elapsed() >= std::time::Duration::from_millis(600) && {
            let stalls = self.stalls.lock().unwrap();
            stalls.iter().all(|(t, _)| *t != me)
        };
        if stall {
            let began = std::time::Instant::now();
            std::thread::sleep(std::time::Duration::from_millis(500));
            self.stalls.lock().unwrap().push((me, began.elapsed()));
        }
        Ok(tokenprobe_client::Answer::token_json(
            bytes::Bytes::from_static(include_bytes!(
                "../../../tests/fixtures/cess/token-success.json"
            )),
        ))
    }
}

impl tokenprobe_load::driver::WorkerTransport for Stalling {
    fn for_worker(&self, _: usize) -> Self {
        self.clone()
    }
}

/// The driver late on purpose, by a known amount: each worker thread is
/// blocked once for B_w ≈ 500 ms (measured) while arrivals keep coming
/// due at R = 100/s, R/W of them on each of the W workers. Those due in a
/// block start when it ends, each late by the rest of the block, so the
/// latency from the intended start exceeds the service time (from the
/// actual send) by Σ_w (R/W)·B_w²/2 (12.5 s for 500 ms) in all over the
/// run's N acquisitions, and by up to B for one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_time_leaves_out_exactly_the_drivers_own_delay() {
    let name = "late-driver";
    let text = format!(
        "target = \"http://127.0.0.1:9\"\noutput = \"{}\"\n{CESS_FLOW}base_url = \"http://127.0.0.1:9\"\n[load]\nmodel = \"open\"\nrate = 100\n[limits]\nduration = \"2s\"\n",
        out_dir(name).display()
    );
    let plan = Plan::parse(&text, "late.toml", name).unwrap();
    let flow = tokenprobe_client::Flow::new(&plan.scenario.setup.flows[0]).unwrap();
    let dir = out_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let hlog = dir.join("late.hlog");
    let started = std::time::Instant::now();
    let recorder = tokenprobe_load::Recorder::new(
        &hlog,
        started,
        std::time::SystemTime::now(),
        &[("cess".to_owned(), flow.steps())],
    )
    .unwrap();
    let recorder = std::sync::Arc::new(std::sync::Mutex::new(recorder));
    let exchange = Stalling {
        from: started,
        stalls: Default::default(),
    };
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let flows = vec![tokenprobe_load::driver::NamedFlow {
        name: "cess".into(),
        flow,
    }];
    let workers =
        tokenprobe_load::driver::Workers::start(tokenprobe_load::driver::Share::Equal).unwrap();
    let stats = tokenprobe_load::driver::drive(
        &plan,
        &workers,
        flows,
        exchange.clone(),
        recorder.clone(),
        started,
        stopped,
    )
    .await;
    let (counts, _) = recorder.lock().unwrap().finish().unwrap();
    assert_eq!(stats.scheduled, 200, "{stats:?}");
    assert_eq!(counts.ok, 200, "{counts:?}");
    let totals = read_hlog(&std::fs::read(&hlog).unwrap()).unwrap().totals;
    let all = |step: &str| {
        totals
            .iter()
            .find(|(k, _)| k.flow == "all" && k.step.name() == step && k.outcome == Outcome::Ok)
            .map(|(_, h)| h.clone())
            .unwrap()
    };
    let (latency, service) = (all("total"), all("service"));
    let n = latency.len() as f64;
    let stalls = exchange.stalls.lock().unwrap().clone();
    let workers = stalls.len() as f64;
    assert!(workers >= 1.0, "no worker stalled");
    let mut expected_ms = 0.0;
    for (_, b) in &stalls {
        let b = b.as_secs_f64();
        assert!(b >= 0.5, "{b}");
        expected_ms += 100.0 / workers * b * b / 2.0 * 1000.0 / n;
    }
    let diff_ms = (latency.mean() - service.mean()) / 1000.0;
    // At least Σ (R/W)·B²/2 (less is a delay not counted: half of it is
    // 31 ms); a few ms more, as the sends held back then start one after
    // another.
    assert!(
        diff_ms > expected_ms - 5.0 && diff_ms < expected_ms + 15.0,
        "latency exceeds service by {diff_ms:.1} ms on average, expected {expected_ms:.1}"
    );
    // The first arrival of a block waited it all; of the sends, only
    // those that blocked took long.
    let longest = stalls
        .iter()
        .map(|(_, b)| b.as_secs_f64())
        .fold(0.0, f64::max);
    assert!(
        latency.max() as f64 >= (longest - 0.02) * 1e6,
        "{}",
        latency.max()
    );
    let slow_sends = service.count_between(100_000, u64::MAX);
    assert!(
        slow_sends <= stalls.len() as u64,
        "{slow_sends} sends over 100 ms"
    );
    let _ = std::fs::remove_dir_all(dir);
}
