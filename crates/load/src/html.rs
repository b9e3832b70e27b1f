//! `report.html`: one self-contained page (inline SVG made with plotters,
//! no script, no network) with the percentile spectrum of every step, the
//! latency percentiles over time, and the achieved rate and errors over time.

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

/// A line chart as an SVG string; `x_label` formats the x axis.
fn chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    x_label: &dyn Fn(&f64) -> String,
) -> String {
    register_font();
    let mut svg = String::new();
    let points = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x_max, mut y_max) = (0f64, 0f64);
    for (x, y) in points {
        x_max = x_max.max(*x);
        y_max = y_max.max(*y);
    }
    let (x_max, y_max) = (x_max.max(1e-9), (y_max * 1.1).max(1e-9));
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (900, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut c = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
        c.configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(x_label)
            .draw()?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            c.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => format!("<p>chart {title}: {e}</p>"),
    }
}

/// Percentile spectrum: x is −log10(1 − q), so 90 %, 99 %, 99.9 % are evenly spaced.
fn spectrum(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut x = 0.0;
    while x <= 4.0 {
        let q = 1.0 - 10f64.powf(-x);
        out.push((x, h.value_at_quantile(q) as f64 / 1000.0));
        x += 0.02;
    }
    out
}

fn percentile_label(x: &f64) -> String {
    let p = format!("{:.4}", 100.0 * (1.0 - 10f64.powf(-x)));
    format!("{}%", p.trim_end_matches('0').trim_end_matches('.'))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page.
pub(crate) fn page(s: &Summary, log: &Log) -> String {
    let totals = &log.totals;
    let spectra: Vec<Series> = totals
        .iter()
        .filter(|(k, h)| k.outcome == Outcome::Ok && !h.is_empty())
        .map(|(k, h)| (k.scope(), spectrum(h)))
        .collect();
    let all_ok = Key::all_ok();
    let all_err = Key {
        outcome: Outcome::Err,
        ..all_ok.clone()
    };
    let all_service = Key {
        step: Part::Service,
        ..all_ok.clone()
    };
    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    let mut service_p99 = Vec::new();
    let mut rate: BTreeMap<u64, (f64, f64, f64)> = BTreeMap::new();
    for i in &log.points {
        let t = i.start.as_secs_f64();
        let secs = i.length.as_secs_f64().max(1e-3);
        if i.key == all_ok && i.count > 0 {
            p50.push((t, i.p50_us as f64 / 1000.0));
            p99.push((t, i.p99_us as f64 / 1000.0));
        }
        if i.key == all_service && i.count > 0 && s.model == "open" {
            service_p99.push((t, i.p99_us as f64 / 1000.0));
        }
        let slot = rate
            .entry(i.start.as_millis() as u64)
            .or_insert((t, 0.0, 0.0));
        if i.key == all_ok {
            slot.1 += i.count as f64 / secs;
        } else if i.key == all_err {
            slot.2 += i.count as f64 / secs;
        }
    }
    let ok_rate: Vec<_> = rate.values().map(|(t, ok, _)| (*t, *ok)).collect();
    let err_rate: Vec<_> = rate.values().map(|(t, _, e)| (*t, *e)).collect();
    let seconds = |x: &f64| format!("{x:.0}s");

    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>tokenprobe: {name}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:960px}}pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}\
         .fail{{color:#b00}}.pass{{color:#070}}</style></head><body><h1>tokenprobe: {name}</h1>",
        name = escape(&s.scenario)
    );
    if s.partial {
        html.push_str("<p class=\"fail\"><b>Partial run: stopped early.</b></p>");
    }
    let _ = write!(html, "<pre>{}</pre>", escape(&crate::report::table(s)));
    html.push_str(&chart(
        "Percentile spectrum (successful acquisitions)",
        "percentile",
        "latency (ms)",
        &spectra,
        &percentile_label,
    ));
    let mut over_time: Vec<Series> = vec![
        ("p50".into(), p50),
        ("p99".into(), p99),
        ("p99 from the actual send".into(), service_p99),
    ];
    over_time.retain(|(_, points)| !points.is_empty());
    html.push_str(&chart(
        "Latency over time (all flows, successful)",
        "time since start",
        "latency (ms)",
        &over_time,
        &seconds,
    ));
    html.push_str(&chart(
        "Achieved rate and errors over time",
        "time since start",
        "per second",
        &[("ok/s".into(), ok_rate), ("errors/s".into(), err_rate)],
        &seconds,
    ));
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
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>tokenprobe search: {name}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:960px}}pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}</style>\
         </head><body><h1>tokenprobe capacity search: {name}</h1><p><b>{result}</b></p>",
        name = escape(&r.scenario),
        result = escape(&r.conclusion())
    );
    html.push_str(&chart(
        "Latency against the offered rate (successful acquisitions, from the intended start)",
        "offered rate",
        "latency (ms)",
        &[
            ("p50".into(), series(&|s| s.p50_ms)),
            ("p99".into(), series(&|s| s.p99_ms)),
        ],
        &per_second,
    ));
    html.push_str(&chart(
        "Errors against the offered rate",
        "offered rate",
        "errors (%)",
        &[("errors".into(), series(&|s| Some(s.error_rate * 100.0)))],
        &per_second,
    ));
    let _ = writeln!(
        html,
        "<pre>{}</pre><p>Each step's own report is in its directory (step-NN-RATE).</p></body></html>",
        escape(&crate::search::table(r))
    );
    html
}
