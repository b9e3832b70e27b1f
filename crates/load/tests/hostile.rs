//! Load runs against a hostile token endpoint of our own (raw TCP on
//! loopback, one behaviour per run): a huge body, a body cut short, a
//! broken chunk, a reset after the headers, non-UTF-8, a new error code per
//! request, a slow body and a hang. For each: its label, the accounting
//! identity, and bounded labels. Then schedules: ramps, weights and shards
//! against the stub. Every run is bounded in count and time.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokenprobe_load::report::Summary;
use tokenprobe_load::scenario::Shard;
use tokenprobe_load::{Finished, Plan};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod support;
use support::accounted;

#[derive(Clone, Copy, Debug)]
enum Hostile {
    Huge,
    CutShort,
    BrokenChunk,
    ResetAfterHeaders,
    NotUtf8,
    NewCodeEachTime,
    SlowBody,
    Hang,
    /// Echoes the `client_secret` form member (or, when the client signs
    /// with it and sends none, the [`CANARY`] it shares with the client),
    /// in one encoding a request, in its error code, description and a
    /// member of its own.
    EchoSecret,
}

const HEAD_200: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: no-store\r\n";

/// Reads one request (headers and a Content-Length body), loosely, and
/// gives its body.
async fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = s.read(&mut chunk).await else {
            return None;
        };
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let Ok(n) = s.read(&mut chunk).await else {
                    return None;
                };
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return buf.get(end + 4..end + 4 + length).map(<[u8]>::to_vec);
        }
    }
}

async fn answer(mut s: TcpStream, how: Hostile, requests: Arc<AtomicU64>) {
    while let Some(sent) = read_request(&mut s).await {
        let n = requests.fetch_add(1, Ordering::Relaxed);
        let done = match how {
            Hostile::Huge => {
                // 64 MiB declared and sent as padding, as the issue saw.
                let len = 64 << 20;
                let head =
                    format!("{HEAD_200}content-length: {len}\r\n\r\n{{\"access_token\":\"t\",");
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let pad = vec![b' '; 1 << 20];
                for _ in 0..64 {
                    if s.write_all(&pad).await.is_err() {
                        return;
                    }
                }
                true
            }
            Hostile::CutShort => {
                let _ = s
                    .write_all(
                        format!("{HEAD_200}content-length: 500\r\n\r\n{{\"access_token\":")
                            .as_bytes(),
                    )
                    .await;
                return;
            }
            Hostile::BrokenChunk => {
                let _ = s
                    .write_all(
                        format!(
                            "{HEAD_200}transfer-encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n"
                        )
                        .as_bytes(),
                    )
                    .await;
                return;
            }
            Hostile::ResetAfterHeaders => {
                let _ = s
                    .write_all(format!("{HEAD_200}content-length: 100\r\n\r\n").as_bytes())
                    .await;
                let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
                return;
            }
            Hostile::NotUtf8 => {
                let body = b"{\"access_token\":\"\xff\xfe\",\"token_type\":\"Bearer\",\"expires_in\":3600}";
                let head = format!("{HEAD_200}content-length: {}\r\n\r\n", body.len());
                s.write_all(head.as_bytes()).await.is_ok() && s.write_all(body).await.is_ok()
            }
            Hostile::NewCodeEachTime => {
                let body = format!("{{\"error\":\"code_{n}_{}\\u001b[31m\"}}", rand_word(n));
                bad_request(&mut s, &body).await
            }
            Hostile::SlowBody => {
                let body = br#"{"access_token":"slow","token_type":"Bearer","expires_in":3600}"#;
                let head = format!("{HEAD_200}content-length: {}\r\n\r\n", body.len());
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                // 8 pieces, 250 ms apart: past the 1.5 s timeout.
                for b in body.chunks(8) {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    if s.write_all(b).await.is_err() {
                        return;
                    }
                }
                true
            }
            Hostile::Hang => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return;
            }
            Hostile::EchoSecret => {
                let echoed = echo(&sent, n);
                let body = serde_json::json!({
                    "error": format!("bad_{echoed}"),
                    "error_description": format!("client secret {echoed} is wrong"),
                    "received": echoed,
                })
                .to_string();
                bad_request(&mut s, &body).await
            }
        };
        if !done {
            return;
        }
    }
}

/// The client secret of the leak test. No run of four of its characters
/// is English or HTML.
const CANARY: &str = "Kx7/Qz9+Wv3=Jp8%31Yb";

/// The `client_secret` member of a form body (the shared [`CANARY`] when
/// there is none) in the `n`-th of the encodings a careless server echoes
/// it in: as received, decoded, base64, base64url, lower-case percent
/// escapes, JSON with `\/`.
fn echo(form: &[u8], n: u64) -> String {
    use base64::Engine as _;
    let raw = String::from_utf8_lossy(form);
    let received = raw
        .split('&')
        .find_map(|kv| kv.strip_prefix("client_secret="))
        .map_or_else(
            || form_urlencoded::byte_serialize(CANARY.as_bytes()).collect(),
            str::to_owned,
        );
    let plain: String = form_urlencoded::parse(form)
        .find(|(k, _)| k == "client_secret")
        .map_or_else(|| CANARY.to_owned(), |(_, v)| v.into_owned());
    match n % 6 {
        0 => received,
        1 => plain,
        2 => base64::engine::general_purpose::STANDARD.encode(&plain),
        3 => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&plain),
        4 => plain
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect(),
        _ => plain.replace('/', "\\/"),
    }
}

/// A 400 with a JSON body; whether it was written.
async fn bad_request(s: &mut TcpStream, body: &str) -> bool {
    let head = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(format!("{head}{body}").as_bytes())
        .await
        .is_ok()
}

fn rand_word(n: u64) -> u64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40
}

async fn hostile_server(how: Hostile) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(answer(s, how, count.clone()));
        }
    });
    addr
}

fn out_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tokenprobe-hostile-{name}-{}", std::process::id()))
}

async fn run_plan(plan: &Plan) -> Summary {
    let (_stop, options) = support::quiet();
    tokenprobe_load::run(plan, options).await.unwrap().summary
}

fn plan(name: &str, text: &str) -> Plan {
    let text = format!("output = \"{}\"\n{text}", out_dir(name).display());
    Plan::parse(&text, &format!("{name}.toml"), name).unwrap()
}

async fn against(how: Hostile, rate: u32, seconds: &str) -> Summary {
    against_with(
        how,
        rate,
        seconds,
        "client_secret = { value = \"svc-secret\" }",
    )
    .await
    .summary
}

async fn against_with(how: Hostile, rate: u32, seconds: &str, credential: &str) -> Finished {
    against_serving(how, rate, seconds, credential, None).await
}

/// With live metrics served on `metrics` while the run lasts (and after,
/// while the result is kept).
async fn against_serving(
    how: Hostile,
    rate: u32,
    seconds: &str,
    credential: &str,
    metrics: Option<SocketAddr>,
) -> Finished {
    let addr = hostile_server(how).await;
    let name = format!("{how:?}").to_lowercase();
    let p = plan(
        &name,
        &format!(
            "target = \"http://{addr}\"\n[http]\ntimeout_ms = 1500\n[[flows]]\nsystem = \"cognito\"\n\
             client_id = \"svc\"\n{credential}\n\
             [load]\nmodel = \"open\"\nrate = {rate}\n[limits]\nduration = \"{seconds}\"\ngrace = \"2s\"\n"
        ),
    );
    let (_stop, mut options) = support::quiet();
    options.metrics_listen = metrics;
    let finished = tokenprobe_load::run(&p, options).await.unwrap();
    accounted(&finished.summary);
    finished
}

fn only_label(s: &Summary) -> (String, u64) {
    assert_eq!(s.counts.errors.len(), 1, "{:?}", s.counts);
    let (l, n) = s.counts.errors.iter().next().unwrap();
    (l.to_string(), *n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hostile_answer_has_its_own_label() {
    for (how, label) in [
        (Hostile::Huge, "too_large"),
        (Hostile::CutShort, "body"),
        (Hostile::BrokenChunk, "body"),
        (Hostile::ResetAfterHeaders, "body"),
        (Hostile::NotUtf8, "decode"),
        (Hostile::SlowBody, "timeout"),
        (Hostile::Hang, "timeout"),
    ] {
        let s = against(how, 20, "1s").await;
        let (got, n) = only_label(&s);
        assert_eq!(got, label, "{how:?}: {:?}", s.counts);
        assert_eq!(
            n, s.counts.started,
            "{how:?}: every acquisition failed the same way"
        );
        assert_eq!(s.counts.ok, 0, "{how:?}");
    }
}

/// Sent in the body, or only signed with (`client_secret_jwt`, whose
/// secret the server holds too): echoed back in any encoding, the secret
/// reaches no output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_echoed_in_any_encoding_never_reaches_a_report() {
    for auth in ["body", "client_secret_jwt"] {
        secret_echoed_by(auth).await;
    }
}

async fn secret_echoed_by(auth: &str) {
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let run = against_serving(
        Hostile::EchoSecret,
        60,
        "1s",
        &format!("auth = \"{auth}\"\nclient_secret = {{ value = \"{CANARY}\" }}"),
        Some(metrics),
    )
    .await;
    let s = &run.summary;
    assert!(s.counts.started >= 40, "{:?}", s.counts);
    assert_eq!(s.counts.ok, 0);
    let runs: Vec<String> = {
        let chars: Vec<char> = CANARY.chars().collect();
        chars.windows(4).map(|w| w.iter().collect()).collect()
    };
    // The metrics endpoint, still served, with the error labels.
    let mut page = String::new();
    let mut conn = tokio::net::TcpStream::connect(metrics).await.unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    conn.read_to_string(&mut page).await.unwrap();
    assert!(
        page.contains("tokenprobe_acquisition_errors_total{label=\"provider(bad_[redacted])\"}"),
        "{page}"
    );
    let mut outputs = vec![
        ("table".to_owned(), run.table.clone()),
        ("metrics".to_owned(), page),
    ];
    for entry in std::fs::read_dir(&run.dir).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        outputs.push((path.display().to_string(), text));
    }
    assert!(outputs.len() >= 5, "table, summary, log, errors, page");
    for (name, text) in &outputs {
        let found: Vec<&String> = runs.iter().filter(|r| text.contains(r.as_str())).collect();
        assert!(
            found.is_empty(),
            "{auth}: {name} holds {found:?} of the secret"
        );
    }
    // Whatever the encoding, one label: the code with the secret taken out.
    assert_eq!(
        s.counts
            .errors
            .keys()
            .map(|l| l.to_string())
            .collect::<Vec<_>>(),
        ["provider(bad_[redacted])"],
        "{:?}",
        s.counts.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_error_code_per_request_keeps_the_labels_bounded_and_printable() {
    let s = against(Hostile::NewCodeEachTime, 200, "1s").await;
    assert!(s.counts.started >= 150, "{:?}", s.counts);
    // 32 labels of their own, the rest under `other`.
    assert_eq!(s.counts.errors.len(), 33, "{:?}", s.counts.errors.keys());
    assert_eq!(
        s.counts.errors[&tokenprobe_client::ErrorLabel::Other],
        s.counts.started - 32
    );
    for label in s.counts.errors.keys() {
        assert!(!label.to_string().contains('\u{1b}'), "{label:?}");
    }
    let table = tokenprobe_load::report::table(&s);
    assert!(!table.contains('\u{1b}'));
    assert!(table.lines().count() < 60, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_is_over_the_window_not_the_grace_period() {
    // Every request hangs until the 1.5 s timeout, past the 1 s window.
    let s = against(Hostile::Hang, 40, "1s").await;
    assert!((s.window_secs - 1.0).abs() < 0.01, "{}", s.window_secs);
    assert!(s.grace_secs > 1.0, "{}", s.grace_secs);
    let asked = s.target_rate.unwrap();
    assert!((asked - 40.0).abs() < 1.01, "{asked}");
    assert!(
        (s.achieved_rate - asked).abs() < 1e-9,
        "{} vs {asked}",
        s.achieved_rate
    );
}

const TWO_FLOWS: &str = "target = \"stub\"\n[stub.jwt]\nalgorithm = \"ES256\"\n\
    [[flows]]\nsystem = \"cognito\"\nclient_id = \"tokenprobe-demo\"\nclient_secret = { value = \"demo-secret\" }\n\
    [[flows]]\nsystem = \"cess\"\nclient_id = \"tokenprobe-demo\"\nclient_secret = { value = \"demo-secret\" }\n\
    username = \"12345678909\"\notp = { value = \"123456\" }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ramp_from_zero_weights_and_shards_add_up() {
    // 0 → 200/s over 2 s: 200 arrivals; 80 % cognito, 20 % cess.
    let text = format!(
        "{TWO_FLOWS}[load]\nmodel = \"open\"\nrate = 0\nstages = [{{ duration = \"2s\", rate = 200 }}]\n\
         weights = {{ cognito = 4, cess = 1 }}\n"
    );
    let whole = run_plan(&plan("ramp", &text)).await;
    accounted(&whole);
    assert_eq!(whole.scheduled, 200, "{whole:?}");
    assert_eq!(whole.flows["cognito"].scheduled, 160);
    assert_eq!(whole.flows["cess"].scheduled, 40);

    // Three shards of the same schedule make exactly the whole.
    let mut total = 0;
    let mut per_flow = [0u64; 2];
    for i in 1..=3 {
        let shard = Shard::parse(&format!("{i}/3"), "ramp".into(), None).unwrap();
        let s = run_plan(&plan(&format!("ramp-shard{i}"), &text).sharded(shard)).await;
        accounted(&s);
        total += s.scheduled;
        per_flow[0] += s.flows["cognito"].scheduled;
        per_flow[1] += s.flows["cess"].scheduled;
    }
    assert_eq!(total, 200);
    assert_eq!(per_flow, [160, 40]);
}

#[test]
fn weights_and_values_out_of_range_are_refused() {
    for bad in [
        "weights = { kerberos = 1 }",
        "weights = { cognito = 0 }",
        "weights = { cognito = -2 }",
        "weights = { cognito = 1e9 }",
        "rate = 3e9",
        "max_in_flight = 0",
    ] {
        let text = format!(
            "output = \"/tmp\"\n{TWO_FLOWS}[load]\nmodel = \"open\"\n{}\n[limits]\nduration = \"1s\"\n",
            if bad.starts_with("rate") {
                bad.to_owned()
            } else {
                format!("rate = 1\n{bad}")
            }
        );
        assert!(
            Plan::parse(&text, "w.toml", "w").is_err(),
            "{bad} was accepted"
        );
    }
}

proptest::proptest! {
    /// No value of a numeric flag makes planning panic; a value is taken
    /// exactly when it is in range.
    #[test]
    fn numeric_overrides_never_panic(rate in proptest::num::f64::ANY, secs in proptest::num::u64::ANY, n in proptest::num::u64::ANY) {
        let text = format!("output = \"/tmp\"\n{TWO_FLOWS}[load]\nmodel = \"open\"\nrate = 1\n[limits]\nduration = \"1s\"\n");
        let mut p = Plan::parse(&text, "p.toml", "p").unwrap();
        let o = tokenprobe_load::scenario::Overrides {
            rate: Some(rate),
            duration: Some(Duration::from_millis(secs)),
            acquisitions: Some(n),
        };
        let ok = p.apply(&o).is_ok();
        let valid = rate.is_finite() && (0.0..=tokenprobe_load::scenario::MAX_RATE).contains(&rate)
            && secs > 0 && Duration::from_millis(secs) <= tokenprobe_load::scenario::MAX_DURATION;
        proptest::prop_assert_eq!(ok, valid);
        if ok {
            let _ = p.schedule().time_of_area(1e9);
        }
    }
}
