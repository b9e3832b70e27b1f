//! The pages: a run's `report.html`, a search's and a comparison's, each
//! one self-contained file (inline SVG made with plotters, no script, no
//! network). A run's has the percentile spectrum of each flow (every
//! step's on demand), the latency percentiles over time, and the achieved
//! rate and errors over time. Each chart says in a line how to read it,
//! has its legend under it (never over the data) and its values in a table
//! on demand.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use plotters::prelude::*;

use crate::recorder::{Key, Outcome, Part};
use crate::report::{Log, Summary};

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

type Series = (String, Vec<(f64, f64)>);

/// The font plotters measures text with (the browser draws it with its own
/// sans-serif); DejaVu, see `assets/DejaVu-LICENSE`.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// What a chart draws: its title, axes, series, how x is labelled, where
/// (`x_keys`, else plotters chooses), and its height.
#[derive(Clone, Copy)]
struct Plot<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    series: &'a [Series],
    x_label: &'a dyn Fn(&f64) -> String,
    x_keys: Option<&'a [f64]>,
    height: u32,
}

/// A chart as the page shows it: its SVG, its legend, its caption (how to
/// read it), and its values in a table that opens on demand, at `x_keys`
/// when given, else at every x.
#[allow(clippy::too_many_arguments)]
fn chart(
    title: &str,
    caption: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    x_label: &dyn Fn(&f64) -> String,
    x_keys: Option<&[f64]>,
    height: u32,
) -> String {
    let plot = Plot {
        title,
        x_desc,
        y_desc,
        series,
        x_label,
        x_keys,
        height,
    };
    let mut html = String::from("<figure>");
    html.push_str(&svg(&plot));
    html.push_str("<ul class=\"legend\">");
    for (i, (name, _)) in series.iter().enumerate() {
        let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()];
        let _ = write!(
            html,
            "<li><span style=\"background:#{r:02x}{g:02x}{b:02x}\"></span>{}</li>",
            escape(name)
        );
    }
    let _ = write!(
        html,
        "</ul><figcaption>{}</figcaption>{}</figure>",
        escape(caption),
        values(&plot)
    );
    html
}

/// A chart's values as a table, in a `<details>`: a row per x (each key,
/// or every x drawn), a column per series, a series' nearest point at a
/// key.
fn values(plot: &Plot<'_>) -> String {
    let Plot {
        x_desc,
        y_desc,
        series,
        x_label,
        x_keys,
        ..
    } = *plot;
    // Each row's x and a value per series: at a key, a series' nearest
    // point; without keys, every x drawn, gathered in one pass (x ≥ 0, so
    // its bits order as the numbers do).
    let rows: Vec<(f64, Vec<Option<f64>>)> = match x_keys {
        Some(keys) => keys
            .iter()
            .map(|&x| {
                let at = |points: &Vec<(f64, f64)>| {
                    points
                        .iter()
                        .min_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs()))
                        .map(|(_, y)| *y)
                };
                (x, series.iter().map(|(_, p)| at(p)).collect())
            })
            .collect(),
        None => {
            let mut rows: BTreeMap<u64, Vec<Option<f64>>> = BTreeMap::new();
            for (i, (_, points)) in series.iter().enumerate() {
                for (x, y) in points {
                    rows.entry(x.to_bits())
                        .or_insert_with(|| vec![None; series.len()])[i] = Some(*y);
                }
            }
            rows.into_iter()
                .map(|(x, ys)| (f64::from_bits(x), ys))
                .collect()
        }
    };
    let mut html = format!(
        "<details><summary>values ({})</summary><table class=\"values\"><tr><th>{}</th>",
        escape(y_desc),
        escape(x_desc)
    );
    for (name, _) in series {
        let _ = write!(html, "<th>{}</th>", escape(name));
    }
    html.push_str("</tr>");
    for (x, ys) in rows {
        let _ = write!(html, "<tr><td>{}</td>", escape(&x_label(&x)));
        for y in ys {
            let y = y.map_or(String::from("-"), |y| format!("{y:.2}"));
            let _ = write!(html, "<td>{y}</td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</table></details>");
    html
}

/// A line chart as an SVG string, without a legend (the page lists the
/// series under it); `x_label` formats the x axis, whose ticks are
/// `x_keys` when given (else plotters chooses them).
fn svg(plot: &Plot<'_>) -> String {
    let Plot {
        title,
        x_desc,
        y_desc,
        series,
        x_label,
        x_keys,
        height,
    } = *plot;
    register_font();
    let mut svg = String::new();
    let points = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x_max, mut y_max) = (0f64, 0f64);
    for (x, y) in points {
        x_max = x_max.max(*x);
        y_max = y_max.max(*y);
    }
    // The axis reaches its last key even with nothing drawn (every
    // acquisition failed), so that no key falls outside it.
    for key in x_keys.unwrap_or_default() {
        x_max = x_max.max(*key);
    }
    let (x_max, y_max) = (x_max.max(1e-9), (y_max * 1.1).max(1e-9));
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .margin_right(40)
            .x_label_area_size(36)
            .y_label_area_size(60);
        let mut c = builder.build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
        let mut mesh = c.configure_mesh();
        mesh.x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(x_label);
        if x_keys.is_some() {
            // Labelled at the keys only, below: no tick where none is wanted.
            mesh.x_labels(0);
        }
        mesh.draw()?;
        let grey = RGBColor(160, 160, 160);
        for key in x_keys.unwrap_or_default() {
            // A grid line at the key, and its label under the axis, where
            // plotters would have put its own.
            c.draw_series(LineSeries::new([(*key, 0.0), (*key, y_max)], grey))?;
            let (x, y) = c.backend_coord(&(*key, 0.0));
            root.draw(&Text::new(
                x_label(key),
                (x - 14, y + 8),
                ("sans-serif", 13).into_font().color(&BLACK),
            ))?;
        }
        for (i, (_, pts)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            c.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?;
        }
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => format!("<p>chart {title}: {e}</p>"),
    }
}

/// Percentile spectrum: x is −log10(1 − q), so 90 %, 99 %, 99.9 % are evenly spaced.
/// The labelled percentiles are among the points, so the values table
/// reads them exactly.
fn spectrum(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let mut xs: Vec<f64> = (0..=200).map(|i| f64::from(i) * 0.02).collect();
    xs.extend(PERCENTILE_KEYS);
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs.into_iter()
        .map(|x| {
            let q = 1.0 - 10f64.powf(-x);
            (x, h.value_at_quantile(q) as f64 / 1000.0)
        })
        .collect()
}

fn percentile_label(x: &f64) -> String {
    let p = format!("{:.4}", 100.0 * (1.0 - 10f64.powf(-x)));
    format!("{}%", p.trim_end_matches('0').trim_end_matches('.'))
}

/// A page's start: one style for every page, no script, nothing fetched.
fn head(title: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:960px}}\
         pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}th{{padding-right:1em}}\
         .fail{{color:#b00}}.pass{{color:#070}}figure{{margin:1.5em 0}}\
         figcaption{{color:#444;margin:.3em 0}}\
         .legend{{list-style:none;padding:0;margin:.3em 0;display:flex;flex-wrap:wrap;gap:0 1.5em}}\
         .legend span{{display:inline-block;width:1.4em;height:.3em;vertical-align:middle;margin-right:.4em}}\
         .values td{{text-align:right;padding-right:1em}}</style></head><body><h1>{title}</h1>",
        title = escape(title)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// How to read a flow's latency over time.
const OVER_TIME: &str = "Per second: the p50 and p99 of the acquisitions that started in it, from \
                         the intended start (and p99 from the actual send): p99 rising alone is a \
                         tail, both rising is saturation.";

/// Where the percentile axis is labelled: 50, 90, 99, 99.9 and 99.99 %.
const PERCENTILE_KEYS: [f64; 5] = [std::f64::consts::LOG10_2, 1.0, 2.0, 3.0, 4.0];

/// One flow's latency over time: p50 and p99 from the intended start, and
/// (open model) p99 from the actual send.
fn over_time(s: &Summary, log: &Log, flow: &str) -> Vec<Series> {
    let key = |step| Key {
        flow: flow.to_owned(),
        step,
        outcome: Outcome::Ok,
    };
    let (total, service) = (key(Part::Total), key(Part::Service));
    let (mut p50, mut p99, mut service_p99) = (Vec::new(), Vec::new(), Vec::new());
    for i in log.points.iter().filter(|i| i.count > 0) {
        let t = i.start.as_secs_f64();
        if i.key == total {
            p50.push((t, i.p50_us as f64 / 1000.0));
            p99.push((t, i.p99_us as f64 / 1000.0));
        } else if i.key == service && s.model == "open" {
            service_p99.push((t, i.p99_us as f64 / 1000.0));
        }
    }
    let mut series: Vec<Series> = vec![
        ("p50".into(), p50),
        ("p99".into(), p99),
        ("p99 from the actual send".into(), service_p99),
    ];
    series.retain(|(_, points)| !points.is_empty());
    series
}

/// What the run was: read before any chart.
fn parameters(s: &Summary) -> String {
    let mut rows = vec![
        ("scenario", s.scenario.clone()),
        ("started", s.started_at.clone()),
        ("model", s.model.clone()),
        (
            "rate",
            match s.target_rate {
                Some(t) => format!("{:.1}/s achieved of {t:.1}/s asked", s.achieved_rate),
                None => format!("{:.1}/s achieved", s.achieved_rate),
            },
        ),
        (
            "length",
            format!(
                "{:.1} s window, {:.1} s of grace",
                s.window_secs, s.grace_secs
            ),
        ),
        (
            "acquisitions",
            format!(
                "{} started, {} ok, {} errors",
                s.counts.started,
                s.counts.ok,
                s.counts.error_total()
            ),
        ),
    ];
    if let Some(run) = &s.run_id {
        let shards = match (s.shard, s.shards.len()) {
            (Some([i, n]), _) => format!("shard {i} of {n}"),
            (None, n) => format!("{n} shards merged"),
        };
        rows.push(("run", format!("{run}, {shards}")));
    }
    if !s.criteria.is_empty() {
        let held = s.thresholds.iter().filter(|v| v.pass).count();
        rows.push((
            "thresholds",
            format!(
                "{held} of {} hold: {}",
                s.thresholds.len(),
                s.criteria
                    .iter()
                    .map(|t| t.text.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut html = String::from("<table>");
    for (name, value) in rows {
        let _ = write!(
            html,
            "<tr><th align=\"left\">{name}</th><td>{}</td></tr>",
            escape(&value)
        );
    }
    html.push_str("</table>");
    html
}

/// The page: the run's parameters, the percentile spectrum, latency over
/// time per flow (small multiples), errors and rate over time, the table.
pub(crate) fn page(s: &Summary, log: &Log, error_log: &[(f64, String, f64)]) -> String {
    let totals = &log.totals;
    // Each flow's total first (all flows' too); its steps on demand.
    let spectra = |steps: bool| -> Vec<Series> {
        totals
            .iter()
            .filter(|(k, h)| k.outcome == Outcome::Ok && !h.is_empty())
            .filter(|(k, _)| (k.step == Part::Total) != steps && k.step != Part::Service)
            .map(|(k, h)| (k.scope(), spectrum(h)))
            .collect()
    };
    let all_ok = Key::all_ok();
    let mut rate: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    let mut errors: BTreeMap<String, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
    for i in &log.points {
        let t = i.start.as_secs_f64();
        let secs = i.length.as_secs_f64().max(1e-3);
        let at = i.start.as_millis() as u64;
        if i.key == all_ok {
            rate.entry(at).or_insert((t, 0.0)).1 += i.count as f64 / secs;
        }
        if i.key.outcome == Outcome::Err
            && i.key.step == Part::Total
            && i.key.flow != crate::recorder::ALL_FLOWS
        {
            let flow = errors.entry(i.key.flow.clone()).or_default();
            flow.entry(at).or_insert((t, 0.0)).1 += i.count as f64 / secs;
        }
    }
    let seconds = |x: &f64| match x.fract() == 0.0 {
        true => format!("{x:.0}s"),
        false => format!("{x:.1}s"),
    };
    let mut html = head(&format!("tokenprobe: {}", s.scenario));
    if s.partial {
        html.push_str("<p class=\"fail\"><b>Partial run: stopped early.</b></p>");
    }
    html.push_str(&parameters(s));
    html.push_str(&chart(
        "Percentile spectrum of each flow (successful acquisitions)",
        "A point is the latency (up, from the intended start) that a share of a flow's acquisitions \
         (across, marked at 50 % … 99.99 %) stayed under; a line that turns up at the right is a tail.",
        "percentile",
        "latency (ms)",
        &spectra(false),
        &percentile_label,
        Some(&PERCENTILE_KEYS),
        380,
    ));
    let steps = spectra(true);
    if !steps.is_empty() {
        let _ = write!(
            html,
            "<details><summary>Each step's spectrum</summary>{}</details>",
            chart(
                "Percentile spectrum of each step (successful acquisitions)",
                "As above, step by step: the step whose line rises with its flow's is where the time goes.",
                "percentile",
                "latency (ms)",
                &steps,
                &percentile_label,
                Some(&PERCENTILE_KEYS),
                380,
            )
        );
    }
    for flow in s.flows.keys() {
        html.push_str(&chart(
            &format!("{flow}: latency over time (successful)"),
            OVER_TIME,
            "time since start",
            "latency (ms)",
            &over_time(s, log, flow),
            &seconds,
            None,
            240,
        ));
    }
    if s.flows.is_empty() {
        html.push_str(&chart(
            "Latency over time (successful)",
            OVER_TIME,
            "time since start",
            "latency (ms)",
            &over_time(s, log, crate::recorder::ALL_FLOWS),
            &seconds,
            None,
            240,
        ));
    }
    html.push_str(&chart(
        "Achieved rate over time (successful acquisitions)",
        "Successful acquisitions a second, by the second they started in: a dip is the server \
         falling behind or refusing.",
        "time since start",
        "per second",
        &[("ok/s".into(), rate.into_values().collect())],
        &seconds,
        None,
        240,
    ));
    // Errors by label when the run wrote them (`errors.csv`), else by flow.
    let by_label: Vec<Series> = if error_log.is_empty() {
        errors
            .into_iter()
            .map(|(flow, points)| (format!("{flow} errors/s"), points.into_values().collect()))
            .collect()
    } else {
        let mut labels: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
        for (t, label, rate) in error_log {
            labels.entry(label).or_default().push((*t, *rate));
        }
        labels
            .into_iter()
            .map(|(label, points)| (label.to_owned(), points))
            .collect()
    };
    if !by_label.is_empty() {
        html.push_str(&chart(
            "Errors over time, by label (per second)",
            "Failed acquisitions a second, one line per error label (the table's): when each kind \
             began and stopped.",
            "time since start",
            "per second",
            &by_label,
            &seconds,
            None,
            300,
        ));
    }
    let _ = write!(html, "<pre>{}</pre>", escape(&crate::report::table(s)));
    html.push_str("</body></html>\n");
    html
}

/// A search's page: the knee first (latency and errors against the
/// offered rate), then the table.
pub(crate) fn search_page(r: &crate::search::SearchResult) -> String {
    let mut by_rate: Vec<&crate::search::StepRow> = r.steps.iter().collect();
    by_rate.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    let series = |f: &dyn Fn(&crate::search::StepRow) -> Option<f64>| -> Vec<(f64, f64)> {
        by_rate
            .iter()
            .filter_map(|s| f(s).map(|v| (s.rate, v)))
            .collect()
    };
    let per_second = |x: &f64| format!("{x:.0}/s");
    let mut html = head(&format!("tokenprobe capacity search: {}", r.scenario));
    let _ = write!(html, "<p><b>{}</b></p>", escape(&r.conclusion()));
    html.push_str(&chart(
        "Latency against the offered rate (successful acquisitions, from the intended start)",
        "One point per step: where p99 leaves p50 behind is the knee.",
        "offered rate",
        "latency (ms)",
        &[
            ("p50".into(), series(&|s| s.p50_ms)),
            ("p99".into(), series(&|s| s.p99_ms)),
        ],
        &per_second,
        None,
        380,
    ));
    html.push_str(&chart(
        "Errors against the offered rate",
        "One point per step: the share of its acquisitions that failed.",
        "offered rate",
        "errors (%)",
        &[("errors".into(), series(&|s| Some(s.error_rate * 100.0)))],
        &per_second,
        None,
        300,
    ));
    let _ = writeln!(
        html,
        "<pre>{}</pre><p>Each step's own report is in its directory (step-NN-RATE).</p></body></html>",
        escape(&crate::search::table(r))
    );
    html
}

/// A comparison's page: the verdict first, then each flow's percentile
/// spectrum with both runs overlaid, then the table.
pub(crate) fn compare_page(
    c: &crate::compare::Comparison,
    base: &BTreeMap<Key, Histogram<u64>>,
    new: &BTreeMap<Key, Histogram<u64>>,
) -> String {
    let broken = c.broken();
    let mut html = head("tokenprobe compare");
    let _ = write!(
        html,
        "<p><b>{}</b></p>",
        escape(&match broken.is_empty() {
            true => "no rule broken".to_owned(),
            false => format!("broken: {}", broken.join("; ")),
        })
    );
    for (key, b) in base
        .iter()
        .filter(|(k, _)| k.outcome == Outcome::Ok && k.step == Part::Total)
    {
        let Some(n) = new.get(key).filter(|n| !n.is_empty()) else {
            continue;
        };
        if b.is_empty() {
            continue;
        }
        html.push_str(&chart(
            &format!("{}: percentile spectrum, base and new", key.scope()),
            "The same flow in both runs: where the new line lies above the base, new is slower at \
             that percentile (the table says whether beyond the noise).",
            "percentile",
            "latency (ms)",
            &[("base".into(), spectrum(b)), ("new".into(), spectrum(n))],
            &percentile_label,
            Some(&PERCENTILE_KEYS),
            320,
        ));
    }
    let _ = writeln!(
        html,
        "<pre>{}</pre></body></html>",
        escape(&crate::compare::table(c))
    );
    html
}
