//! Headless Chromium for the explorer's test and its load measurement, driven through its
//! command line (no WebDriver crate): `--dump-dom` for the DOM a page has rendered once its
//! requests are answered, `--screenshot` for a picture. The program is found, or installed
//! with apt-get, by `scripts/browser`; where it cannot be, [`Browser::find`] panics with a
//! message naming what to install, so the test fails rather than skips.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A Chromium program that runs.
pub struct Browser {
    program: PathBuf,
}

static PROFILES: AtomicU64 = AtomicU64::new(0);

impl Browser {
    /// Finds Chromium with `scripts/browser` (which installs Debian's `chromium` and
    /// `chromium-driver` when missing). Panics, naming the packages, when it cannot.
    pub fn find() -> Browser {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/browser");
        let out = Command::new(&script).output().unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}. The explorer's browser test needs Debian's packages \
                 `chromium` and `chromium-driver` (apt-get install chromium chromium-driver)",
                script.display()
            )
        });
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let program = stdout.lines().last().unwrap_or_default().trim().to_string();
        assert!(
            out.status.success() && !program.is_empty(),
            "the explorer's browser test needs a headless Chromium and scripts/browser could not \
             provide one. Install Debian's packages `chromium` and `chromium-driver` (as root: \
             apt-get install chromium chromium-driver), or set CHROMIUM to a Chromium program.\n\
             scripts/browser said:\n{stderr}"
        );
        Browser {
            program: PathBuf::from(program),
        }
    }

    /// Runs Chromium headless on `url` with `extra` arguments, in a profile of its own (so
    /// that several runs at once never share a profile lock); returns its standard output.
    fn run(&self, url: &str, extra: &[String], budget: Duration) -> String {
        let profile = std::env::temp_dir().join(format!(
            "explorer-chromium-{}-{}",
            std::process::id(),
            PROFILES.fetch_add(1, Ordering::Relaxed)
        ));
        let out = Command::new(&self.program)
            .args([
                "--headless",
                // As root (CI, containers) Chromium runs only without its sandbox; the pages
                // it opens here are this test's own.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--no-first-run",
                "--disable-extensions",
                "--mute-audio",
                // Virtual time stops while requests are pending, so the budget is time the
                // page's own timers may run after its data has arrived.
                &format!("--virtual-time-budget={}", budget.as_millis()),
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(url)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()));
        let _ = std::fs::remove_dir_all(&profile);
        assert!(
            out.status.success(),
            "{} exited with {} on {url}:\n{}",
            self.program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The DOM of `url` once its requests are answered, and how long Chromium took, start
    /// to exit.
    pub fn load(&self, url: &str) -> (String, Duration) {
        let started = Instant::now();
        let dom = self.run(
            url,
            &["--dump-dom".into(), "--window-size=1280,2000".into()],
            Duration::from_millis(2500),
        );
        (dom, started.elapsed())
    }

    /// [`Browser::load`] of a page of the explorer: panics, with the DOM, when the page
    /// never marked a render done (`data-rendered` on its body).
    pub fn dom(&self, url: &str) -> (String, Duration) {
        let (dom, took) = self.load(url);
        assert!(
            dom.contains("data-rendered="),
            "the page at {url} did not finish rendering:\n{dom}"
        );
        (dom, took)
    }

    /// Writes a PNG picture of `url`, `width` × `height` CSS pixels, to `path`.
    pub fn screenshot(&self, url: &str, path: &Path, width: u32, height: u32) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        let _ = std::fs::remove_file(path);
        self.run(
            url,
            &[
                format!("--screenshot={}", path.display()),
                format!("--window-size={width},{height}"),
            ],
            Duration::from_millis(2500),
        );
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "no screenshot of {url} at {}", path.display());
    }
}

/// The text of an HTML fragment: tags removed, the five entities HTML escapes decoded,
/// whitespace collapsed.
pub fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The element that `start` (a piece of its start tag, e.g. `<tr data-batch="3"`) opens, up
/// to the first `</{tag}>` after it, or `None`.
pub fn element<'a>(html: &'a str, start: &str, tag: &str) -> Option<&'a str> {
    let at = html.find(start)?;
    let rest = &html[at..];
    let end = rest.find(&format!("</{tag}>"))?;
    Some(&rest[..end + tag.len() + 3])
}

/// The text of the first `td` or `th` with class `class` inside `html`.
pub fn cell(html: &str, class: &str) -> Option<String> {
    ["td", "th"].iter().find_map(|tag| {
        let needle = format!("class=\"{class}\"");
        let classed = format!("class=\"num {class}\"");
        let at = html
            .find(&format!("<{tag} {classed}"))
            .or_else(|| html.find(&format!("<{tag} {needle}")))?;
        element(&html[at..], &format!("<{tag}"), tag).map(text)
    })
}
