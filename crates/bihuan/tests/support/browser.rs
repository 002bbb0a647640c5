//! A real headless Chromium driven through chromedriver, sized like the
//! device a user holds, with the checks every journey makes: nothing scrolls
//! sideways, every tap target is at least 44 px, and what the first screen
//! must show is inside it.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian: `apt-get install
//! chromium chromium-driver`). Without them a journey fails, on purpose: CI
//! installs them. Screenshots are kept as artifacts under
//! `target/screenshots/<journey>/`.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::unique;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// What the user holds.
#[derive(Debug, Clone, Copy)]
pub enum Screen {
    /// 390×844 at 3× (a common phone), with touch emulation.
    Phone,
    /// 1366×768, a command laptop.
    Laptop,
    /// 1920×1080, the command's wall display.
    Wall,
}

impl Screen {
    pub fn size(self) -> (u32, u32) {
        match self {
            Screen::Phone => (390, 844),
            Screen::Laptop => (1366, 768),
            Screen::Wall => (1920, 1080),
        }
    }
}

/// chromedriver, its scratch profile and the screenshot folder; the driver
/// goes away however the test ends, the screenshots stay.
pub struct Driver {
    child: Child,
    pub dir: PathBuf,
    pub shots: PathBuf,
    pub port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where a journey's screenshots are kept: `target/screenshots/<journey>`.
pub fn screenshot_dir(journey: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots").join(journey);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // chromedriver takes only canonical paths for file inputs.
    dir.canonicalize().unwrap()
}

/// Starts chromedriver on a free port; `journey` names the screenshot folder.
pub async fn start_driver(journey: &str) -> Driver {
    for bin in [CHROMEDRIVER, CHROMIUM] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: the browser test needs Chromium and its driver \
             (apt-get install -y chromium chromium-driver)"
        );
    }
    let dir = std::env::temp_dir().join(unique("bihuan-browser-"));
    std::fs::create_dir_all(dir.join("profile")).unwrap();
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        dir,
        shots: screenshot_dir(journey),
        port,
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port}");
}

/// A Chromium session on `screen`.
pub async fn connect(driver: &Driver, screen: Screen) -> Client {
    let (width, height) = screen.size();
    let mut options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", driver.dir.join("profile").display()),
        ],
    });
    if let Screen::Phone = screen {
        options["mobileEmulation"] =
            json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 3}});
    }
    let caps = json!({ "goog:chromeOptions": options });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session");
    if !matches!(screen, Screen::Phone) {
        // --window-size sets the outer window; make the viewport exact.
        let _ = client
            .set_window_size(width, height + outer_chrome(&client).await)
            .await;
    }
    client
}

async fn outer_chrome(c: &Client) -> u32 {
    c.execute("return window.outerHeight - window.innerHeight", vec![])
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as u32
}

pub async fn type_into(c: &Client, css: &str, text: &str) -> Result<()> {
    let e = c.find(Locator::Css(css)).await?;
    e.clear().await?;
    e.send_keys(text).await?;
    Ok(())
}

/// Picks an option by its visible text once the script has filled the select.
pub async fn pick(c: &Client, select_id: &str, label: &str) -> Result<()> {
    let option = format!("//select[@id='{select_id}']/option[.='{label}']");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(&option))
        .await
        .map_err(|e| format!("no option {label} in #{select_id}: {e}"))?;
    c.find(Locator::Id(select_id))
        .await?
        .select_by_label(label)
        .await?;
    Ok(())
}

/// Sets a date input the way its picker would. Typing into a date input
/// depends on the browser's locale; the value a person picks does not.
pub async fn set_date(c: &Client, id: &str, date: &str) -> Result<()> {
    let e = c.find(Locator::Id(id)).await?;
    c.execute(
        "arguments[0].value = arguments[1];\
         arguments[0].dispatchEvent(new Event('input', {bubbles: true}));\
         arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        vec![serde_json::to_value(&e)?, json!(date)],
    )
    .await?;
    Ok(())
}

pub async fn value(c: &Client, css: &str) -> Result<String> {
    Ok(c.find(Locator::Css(css))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default())
}

/// The visible text of the page body.
pub async fn body_text(c: &Client) -> Result<String> {
    Ok(c.find(Locator::Css("body")).await?.text().await?)
}

pub async fn screenshot(c: &Client, dir: &Path, name: &str) -> Result<()> {
    let png = c.screenshot().await?;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(dir.join(name), png)?;
    Ok(())
}

pub async fn fits_the_phone(c: &Client) -> Result<bool> {
    Ok(no_sideways_scroll(c).await.is_ok())
}

/// Nothing on the page scrolls sideways: the document is no wider than the
/// viewport. Names the widest offending elements when it is. The viewport is
/// the root's clientWidth: on an emulated phone `innerWidth` grows with
/// content that overflows (the page is zoomed out to fit), hiding the fault.
pub async fn no_sideways_scroll(c: &Client) -> Result<()> {
    let v = c
        .execute(
            "const w = document.documentElement.clientWidth, d = document.documentElement.scrollWidth;\
             if (d <= w) return null;\
             const wide = [];\
             for (const e of document.querySelectorAll('body *')) {\
               const r = e.getBoundingClientRect();\
               if (r.right > w + 0.5 && r.width > 0) wide.push(e.tagName.toLowerCase() +\
                 (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '') +\
                 ' right=' + Math.round(r.right));\
             }\
             return 'page is ' + d + ' px wide in a ' + w + ' px window: ' + wide.slice(0, 8).join('; ');",
            vec![],
        )
        .await?;
    match v.as_str() {
        None => Ok(()),
        Some(why) => Err(format!("{} scrolls sideways: {why}", c.current_url().await?).into()),
    }
}

/// Every visible link, button, select and input a finger taps is at least
/// 44 px tall (checkboxes and radios count their label). Links inside running
/// text are exempt, as WCAG 2.5.5 allows.
pub async fn tap_targets_are_large(c: &Client) -> Result<()> {
    let v = c
        .execute(
            "const small = [];\
             const sel = 'a[href], button, select, input:not([type=hidden]), summary, textarea';\
             for (const e of document.querySelectorAll(sel)) {\
               const s = getComputedStyle(e);\
               if (s.display === 'none' || s.visibility === 'hidden') continue;\
               let r = e.getBoundingClientRect();\
               if (r.width === 0 && r.height === 0) continue;\
               if (e.tagName === 'A' && e.closest('p, li.text, td, .inline, footer')) continue;\
               if (e.type === 'checkbox' || e.type === 'radio') {\
                 const l = e.closest('label') || (e.id && document.querySelector('label[for=\"' + e.id + '\"]'));\
                 if (l) r = l.getBoundingClientRect();\
               }\
               if (r.height < 43.5) small.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +\
                 (e.name ? '[name=' + e.name + ']' : '') + ' \"' + (e.innerText || e.value || '').trim().slice(0, 20) +\
                 '\" ' + Math.round(r.width) + 'x' + Math.round(r.height));\
             }\
             return small.slice(0, 10).join('; ');",
            vec![],
        )
        .await?;
    match v.as_str() {
        Some("") | None => Ok(()),
        Some(small) => Err(format!(
            "{} has tap targets under 44 px: {small}",
            c.current_url().await?
        )
        .into()),
    }
}

/// The element `css` is visible and inside the first screen (its top edge is
/// within the viewport height, before any scrolling).
pub async fn in_first_screen(c: &Client, css: &str) -> Result<()> {
    let e = c.find(Locator::Css(css)).await?;
    let v = c
        .execute(
            "window.scrollTo(0, 0);\
             const r = arguments[0].getBoundingClientRect();\
             const s = getComputedStyle(arguments[0]);\
             return {top: r.top, bottom: r.bottom, h: window.innerHeight,\
                     shown: s.display !== 'none' && s.visibility !== 'hidden' && r.height > 0};",
            vec![serde_json::to_value(&e)?],
        )
        .await?;
    let shown = v["shown"].as_bool().unwrap_or(false);
    let top = v["top"].as_f64().unwrap_or(f64::MAX);
    let h = v["h"].as_f64().unwrap_or(0.0);
    if !shown || top < 0.0 || top >= h {
        return Err(format!("{css} is not on the first screen: {v}").into());
    }
    Ok(())
}

/// The page fills the viewport without any scrolling at all (the wall
/// display's big-screen mode).
pub async fn no_scroll_at_all(c: &Client) -> Result<()> {
    let v = c
        .execute(
            "const d = document.documentElement;\
             return [d.scrollWidth, d.scrollHeight, window.innerWidth, window.innerHeight];",
            vec![],
        )
        .await?;
    let n = |i: usize| v[i].as_f64().unwrap_or(0.0);
    if n(0) > n(2) || n(1) > n(3) {
        return Err(format!("the page scrolls: {v}").into());
    }
    Ok(())
}

/// The three checks every screen of a journey makes.
pub async fn check_screen(c: &Client) -> Result<()> {
    no_sideways_scroll(c).await?;
    tap_targets_are_large(c).await
}
