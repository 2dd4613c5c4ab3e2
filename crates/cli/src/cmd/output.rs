//! How the client commands print: aligned tables and `key: value` lists for people, JSON for
//! machines (`--json`), both on stdout; progress (a spinner, hidden when stderr is not a
//! terminal) and notes on stderr.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::{
    io::{IsTerminal, Write},
    time::Duration,
};

/// Longest cell of free text (purposes, details) in a table before it is cut.
const MAX_CELL_CHARS: usize = 48;
/// Spaces between two columns.
const GAP: &str = "  ";

/// A table whose columns are aligned on their widest cell.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|title| title.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty, extra cells dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, each ending in a newline; the last column is not
    /// padded, so no line has trailing spaces.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let cell = |row: &Vec<String>, i: usize| row.get(i).cloned().unwrap_or_default();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, width) in widths.iter_mut().enumerate() {
                *width = (*width).max(cell(row, i).chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let text = cell(row, i);
                line.push_str(&text);
                if i + 1 < columns {
                    line.push_str(&" ".repeat(width - text.chars().count()));
                    line.push_str(GAP);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `key: value` lines with the values aligned.
pub fn key_values(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    pairs
        .iter()
        .map(|(key, value)| {
            let pad = " ".repeat(width - key.chars().count());
            format!("{key}:{pad} {value}").trim_end().to_string() + "\n"
        })
        .collect()
}

/// `text` cut to [`MAX_CELL_CHARS`] with an ellipsis, on one line.
pub fn cut(text: &str) -> String {
    let one_line = text.replace(['\n', '\r', '\t'], " ");
    if one_line.chars().count() <= MAX_CELL_CHARS {
        one_line
    } else {
        let head: String = one_line.chars().take(MAX_CELL_CHARS - 1).collect();
        format!("{head}…")
    }
}

/// `value` or `-` when there is none.
pub fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// A millisecond Unix timestamp as `YYYY-MM-DD HH:MM:SSZ` (UTC).
pub fn utc(ms: u64) -> String {
    let seconds = ms / 1000;
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("cannot encode the answer as JSON")?;
    print_stdout(&format!("{text}\n"))
}

/// Prints `text` on stdout and flushes it, so a script sees it at once.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// A progress bar of `len` steps on stderr, labelled `message`; hidden when stderr is not a
/// terminal. Finish it with `finish_and_clear`.
pub fn progress_bar(len: u64, message: impl Into<String>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:32}] {human_pos}/{human_len} ({elapsed})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A spinner on stderr while the command waits; cleared when dropped. Hidden when stderr is
/// not a terminal, so logs and pipes stay clean.
pub struct Spinner(ProgressBar);

impl Spinner {
    /// Starts spinning with `message`.
    pub fn start(message: impl Into<String>) -> Self {
        let bar = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        } else {
            ProgressBar::hidden()
        };
        bar.set_message(message.into());
        Self(bar)
    }

    /// Changes the message.
    pub fn say(&self, message: impl Into<String>) {
        self.0.set_message(message.into());
    }

    /// Runs `print` with the spinner wiped from the terminal.
    pub fn suspend<T>(&self, print: impl FnOnce() -> T) -> T {
        self.0.suspend(print)
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_on_the_widest_cell_without_trailing_spaces() {
        let mut table = Table::new(&["ID", "STATUS", "NOTE"]);
        table.row(vec!["rec_1".into(), "accepted".into(), "ok".into()]);
        table.row(vec!["rec_22222".into(), "x".into(), String::new()]);
        table.row(vec!["é".into()]);
        assert_eq!(
            table.render(),
            "ID         STATUS    NOTE\n\
             rec_1      accepted  ok\n\
             rec_22222  x\n\
             é\n"
        );
    }

    #[test]
    fn an_empty_table_is_its_header() {
        assert_eq!(Table::new(&["A", "B"]).render(), "A  B\n");
    }

    #[test]
    fn key_values_align_their_values() {
        assert_eq!(
            key_values(&[
                ("org", "member-a".into()),
                ("height", "12".into()),
                ("x", String::new())
            ]),
            "org:    member-a\nheight: 12\nx:\n"
        );
    }

    #[test]
    fn long_text_is_cut_to_one_short_line() {
        assert_eq!(cut("a\nb"), "a b");
        let long = "x".repeat(100);
        let cut = cut(&long);
        assert_eq!(cut.chars().count(), MAX_CELL_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn timestamps_print_as_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc(1_700_000_000_000), "2023-11-14 22:13:20Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00Z");
        assert_eq!(or_dash(None::<u64>), "-");
        assert_eq!(or_dash(Some(3)), "3");
    }
}
