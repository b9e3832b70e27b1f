//! Where results become the files people open: a report's `report.html`,
//! a comparison's `compare.json` and `compare.html`, a search's
//! `search.json` and `report.html`, with the terminal tables their
//! modules print. The modules
//! below (`report`, `merge`, `compare`, `search`) compute and save their
//! data; only this one, through `html`, draws.

use std::path::Path;

use crate::compare::Comparison;
use crate::merge::Merged;
use crate::report::{At, ReportError, Summary, write_json};
use crate::search::SearchResult;
use crate::{html, report};

/// Renders a report directory from what it saved: `summary.json` brought
/// up to date, `report.html`, and the terminal table.
pub fn report(dir: &Path) -> Result<(Summary, String), ReportError> {
    let r = report::refresh(dir)?;
    let page = dir.join("report.html");
    std::fs::write(&page, html::page(&r.summary, &r.log, &r.errors)).at(&page)?;
    let table = report::table(&r.summary);
    Ok((r.summary, table))
}

/// Merges the shard reports `dirs` into `out` and renders it: the merge
/// (its summary with latency rows and verdicts) and its table.
pub fn merge(dirs: &[&Path], out: &Path) -> Result<(Merged, String), ReportError> {
    let mut merged = crate::merge::merge(dirs, out)?;
    let (summary, table) = report(out)?;
    merged.summary = summary;
    Ok((merged, table))
}

/// Writes `compare.json` and `compare.html` into `out`.
pub fn comparison(c: &Comparison, out: &Path) -> Result<(), ReportError> {
    let totals = |dir: &str| -> Result<_, ReportError> {
        let path = Path::new(dir).join("latency.hlog");
        Ok(report::read_hlog(&std::fs::read(&path).at(&path)?)
            .at(&path)?
            .totals)
    };
    std::fs::create_dir_all(out).at(out)?;
    write_json(&out.join("compare.json"), c)?;
    let page = out.join("compare.html");
    let drawn = html::compare_page(c, &totals(&c.base)?, &totals(&c.new)?);
    std::fs::write(&page, drawn).at(&page)
}

/// Writes a search's `search.json` and `report.html` into `dir`; returns
/// its table.
pub(crate) fn search(dir: &Path, result: &SearchResult) -> Result<String, ReportError> {
    write_json(&dir.join("search.json"), result)?;
    let page = dir.join("report.html");
    std::fs::write(&page, html::search_page(result)).at(&page)?;
    Ok(crate::search::table(result))
}
