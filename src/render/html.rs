//! The fleet as one self-contained HTML page (inline CSS, no external
//! asset): every server and destination with its state, what is attached,
//! drift, and per destination a picture of what is attached on each
//! server; from `watch`, also the changes it holds back and its recent
//! events, and a small script that takes the page's new body from
//! `/events`. `status --format html` writes it as a static file. Pure:
//! everything from config or Docker is escaped.

use std::fmt::Write;
use std::time::SystemTime;

use crate::ops::{WatchBoard, WatchEvent, WatchPages};
use crate::plan::ServerHealth;
use crate::status::{DestinationState, DestinationStatus, Report};

/// The page's views for `watch --listen`.
pub struct Pages;

impl WatchPages for Pages {
    fn page(&self, board: &WatchBoard) -> String {
        document(&board.status, Some(board), board.updated)
    }

    fn fragment(&self, board: &WatchBoard) -> String {
        main(&board.status, Some(board), board.updated)
    }

    fn status_json(&self, report: &Report) -> String {
        super::status::json(report)
    }
}

/// The static page of a status (`status --format html`), as of `now`.
pub fn page(status: &Report, now: SystemTime) -> String {
    document(status, None, now)
}

/// Escapes text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root{--bg:#f6f7f9;--fg:#1d2430;--muted:#5f6b7a;--card:#fff;--line:#dde2e8;
--ok:#1a7f37;--ok-bg:#dafbe1;--warn:#9a6700;--warn-bg:#fff8c5;--bad:#cf222e;--bad-bg:#ffebe9;
--info:#0969da;--info-bg:#ddf4ff;--idle:#6e7781;--idle-bg:#eaeef2}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--card:#161b22;--line:#30363d;
--ok:#3fb950;--ok-bg:#12261e;--warn:#d29922;--warn-bg:#2b2111;--bad:#f85149;--bad-bg:#2d1214;
--info:#58a6ff;--info-bg:#0c2d4a;--idle:#8d96a0;--idle-bg:#21262d}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Ubuntu,sans-serif}
header{display:flex;align-items:center;gap:.8rem;padding:.8rem 1.4rem;background:var(--card);border-bottom:1px solid var(--line)}
header h1{font-size:1.2rem;margin:0}
main{padding:1rem 1.4rem;max-width:1400px}
h2{font-size:1rem;margin:1.4rem 0 .6rem;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
h3{font-size:1rem;margin:0 0 .5rem}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.muted{color:var(--muted)}
.pill{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.8rem;font-weight:600;white-space:nowrap}
.ok{color:var(--ok);background:var(--ok-bg)}.warn{color:var(--warn);background:var(--warn-bg)}
.bad{color:var(--bad);background:var(--bad-bg)}.info{color:var(--info);background:var(--info-bg)}
.idle{color:var(--idle);background:var(--idle-bg)}
.tiles{display:flex;flex-wrap:wrap;gap:.6rem}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.5rem .9rem;min-width:7.5rem}
.tile b{display:block;font-size:1.5rem;line-height:1.2}
.servers{display:flex;flex-wrap:wrap;gap:.5rem}
.server{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.4rem .8rem}
.dest{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.8rem 1rem;margin-bottom:.9rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(19rem,1fr));gap:.6rem}
.cell{border:1px solid var(--line);border-left:4px solid var(--idle);border-radius:8px;padding:.5rem .7rem}
.cell.s-ok{border-left-color:var(--ok)}.cell.s-adopted{border-left-color:var(--info)}
.cell.s-missing,.cell.s-unknown{border-left-color:var(--bad)}.cell.s-differs{border-left-color:var(--warn)}
.cellhead{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin-bottom:.35rem}
ul.boxes{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:.3rem}
.box{display:flex;gap:.45rem;align-items:baseline;padding:.25rem .45rem;border-radius:6px;background:var(--bg)}
.dot{width:.6rem;height:.6rem;border-radius:50%;flex:none;background:var(--idle);align-self:center}
.dot.ok{background:var(--ok)}.dot.warn{background:var(--warn)}.dot.bad{background:var(--bad)}
.box small{color:var(--muted)}
.box.detached{background:var(--bad-bg)}
.note{margin-top:.35rem;padding:.25rem .45rem;border-radius:6px;font-size:.85rem}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:8px}
td,th{text-align:left;padding:.35rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}
footer{padding:1rem 1.4rem;color:var(--muted);font-size:.85rem}
"#;

/// `/events` pushes the new body; without scripts the page is a snapshot
/// (refreshed by the browser every 10 s when served by watch).
const SCRIPT: &str = r#"(function(){var m=document.getElementById('main'),l=document.getElementById('live');
if(!window.EventSource)return;var s=new EventSource('events');
s.addEventListener('page',function(e){m.innerHTML=e.data;l.textContent='live';l.className='pill ok';});
s.onerror=function(){l.textContent='reconnecting';l.className='pill warn';};})();"#;

fn document(status: &Report, board: Option<&WatchBoard>, now: SystemTime) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    let title = if board.is_some() {
        "berth watch"
    } else {
        "berth status"
    };
    let _ = writeln!(out, "<title>{title}</title>");
    if board.is_some() {
        out.push_str("<noscript><meta http-equiv=\"refresh\" content=\"10\"></noscript>\n");
    }
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = write!(
        out,
        "<header><h1>berth</h1><span class=\"muted\">{title}</span>"
    );
    if board.is_some() {
        out.push_str(" <span id=\"live\" class=\"pill idle\">snapshot</span>");
    } else {
        out.push_str(" <span class=\"pill idle\">static snapshot</span>");
    }
    out.push_str("</header>\n<main id=\"main\">\n");
    out.push_str(&main(status, board, now));
    out.push_str("</main>\n<footer>");
    match board {
        Some(_) => out.push_str(
            "Served by <code>berth watch --listen</code>: read-only; <code>/status.json</code> is the same data as <code>berth status --format json</code>.",
        ),
        None => out.push_str("Written by <code>berth status --format html</code>."),
    }
    out.push_str("</footer>\n");
    if board.is_some() {
        let _ = writeln!(out, "<script>{SCRIPT}</script>");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The page's body: what `/events` pushes again.
fn main(status: &Report, board: Option<&WatchBoard>, now: SystemTime) -> String {
    let mut out = String::with_capacity(16 * 1024);
    summary(&mut out, status, board, now);
    servers(&mut out, status);
    destinations(&mut out, status);
    if let Some(board) = board {
        held(&mut out, board);
    }
    orphans(&mut out, status);
    if let Some(board) = board {
        events(&mut out, board);
    }
    out
}

fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `12:04:05` of an RFC 3339 time.
fn clock(t: SystemTime) -> String {
    let full = time(t);
    full.get(11..19).unwrap_or(&full).to_string()
}

fn summary(out: &mut String, status: &Report, board: Option<&WatchBoard>, now: SystemTime) {
    let count = |st: DestinationState| status.destinations.iter().filter(|d| d.state == st).count();
    let unused = status.destinations.iter().filter(|d| d.unused).count();
    let up = status
        .servers
        .iter()
        .filter(|s| s.status == ServerHealth::Ok)
        .count();
    let down = status.servers.len() - up;
    let _ = write!(
        out,
        "<p class=\"muted\">As of <time datetime=\"{t}\">{t}</time>",
        t = time(now)
    );
    if let Some(b) = board {
        let _ = write!(out, " · watching since {}", time(b.started));
    }
    out.push_str("</p>\n<div class=\"tiles\">\n");
    let tile = |out: &mut String, class: &str, n: usize, label: &str, id: &str| {
        let _ = writeln!(
            out,
            "<div class=\"tile\" id=\"{id}\"><b class=\"{class}\" style=\"background:none\">{n}</b>{label}</div>"
        );
    };
    tile(
        out,
        if down > 0 { "bad" } else { "ok" },
        up,
        &format!("of {} server(s) up", status.servers.len()),
        "t-servers",
    );
    tile(
        out,
        "",
        status.destinations.len(),
        "destination(s)",
        "t-destinations",
    );
    tile(out, "ok", count(DestinationState::Ok), "ok", "t-ok");
    tile(
        out,
        "info",
        count(DestinationState::Adopted),
        "adopted",
        "t-adopted",
    );
    tile(
        out,
        if count(DestinationState::Missing) > 0 {
            "bad"
        } else {
            ""
        },
        count(DestinationState::Missing),
        "missing",
        "t-missing",
    );
    tile(
        out,
        if count(DestinationState::Differs) > 0 {
            "warn"
        } else {
            ""
        },
        count(DestinationState::Differs),
        "differ",
        "t-differs",
    );
    tile(out, "", unused, "unused", "t-unused");
    tile(
        out,
        if status.drift > 0 { "warn" } else { "ok" },
        status.drift,
        "drift outstanding",
        "t-drift",
    );
    out.push_str("</div>\n");
}

fn servers(out: &mut String, status: &Report) {
    out.push_str("<h2>Servers</h2>\n<div class=\"servers\">\n");
    for s in &status.servers {
        let (class, word) = match s.status {
            ServerHealth::Ok => ("ok", "up"),
            ServerHealth::Error => ("bad", "down"),
            ServerHealth::Skipped => ("idle", "skipped"),
        };
        let _ = write!(
            out,
            "<div class=\"server\" data-server=\"{n}\"><b>{n}</b> <span class=\"muted mono\">{a}</span> <span class=\"pill {class}\">{word}</span>",
            n = escape(&s.name),
            a = escape(&s.address)
        );
        if let Some(swarm) = &s.swarm {
            let ready = swarm.nodes.iter().filter(|n| n.state == "ready").count();
            let _ = write!(
                out,
                " <span class=\"muted\">swarm manager, {ready} of {} node(s) ready</span>",
                swarm.nodes.len()
            );
        }
        if let Some(e) = &s.error {
            let _ = write!(out, "<br><small class=\"muted\">{}</small>", escape(e));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n");
}

fn state(d: &DestinationStatus) -> (&'static str, &'static str) {
    match d.state {
        DestinationState::Ok => ("ok", "ok"),
        DestinationState::Missing => ("bad", "missing"),
        DestinationState::Differs => ("warn", "differs"),
        DestinationState::Adopted => ("info", "adopted"),
        DestinationState::Unknown => ("bad", "unknown"),
    }
}

/// Each destination (by name) with one cell per server it is on: what is
/// attached there, what should be and is not, and what is planned.
fn destinations(out: &mut String, status: &Report) {
    out.push_str("<h2>Destinations</h2>\n");
    if status.destinations.is_empty() {
        out.push_str("<p class=\"muted\">No destination.</p>\n");
        return;
    }
    let mut names: Vec<&str> = Vec::new();
    for d in &status.destinations {
        if !names.contains(&d.name.as_str()) {
            names.push(&d.name);
        }
    }
    for name in names {
        let group: Vec<&DestinationStatus> = status
            .destinations
            .iter()
            .filter(|d| d.name == name)
            .collect();
        let attached: usize = group.iter().map(|d| d.attached.len()).sum();
        let _ = write!(
            out,
            "<article class=\"dest\" data-destination=\"{n}\"><h3>{n} <span class=\"muted\" style=\"font-weight:400\">· {k} server(s) · {attached} attached</span></h3>\n<div class=\"grid\">\n",
            n = escape(name),
            k = group.len()
        );
        for d in group {
            cell(out, d);
        }
        out.push_str("</div></article>\n");
    }
}

fn cell(out: &mut String, d: &DestinationStatus) {
    let (class, word) = state(d);
    let _ = write!(
        out,
        "<div class=\"cell s-{word}\" data-server=\"{s}\" data-destination=\"{n}\" data-state=\"{word}\">\n<div class=\"cellhead\"><b>{s}</b> <span class=\"pill {class}\">{word}</span>",
        s = escape(&d.server),
        n = escape(&d.name),
    );
    if d.unused && d.state != DestinationState::Missing {
        out.push_str(" <span class=\"pill warn\">unused</span>");
    }
    if !d.detached.is_empty() || !d.not_found.is_empty() {
        out.push_str(" <span class=\"pill warn\">drift</span>");
    }
    let shape: Vec<String> = [d.driver.as_deref(), d.subnet.as_deref()]
        .into_iter()
        .flatten()
        .map(escape)
        .collect();
    let _ = write!(
        out,
        "</div>\n<div class=\"muted\">network <code>{}</code>{}</div>\n<ul class=\"boxes\">\n",
        escape(&d.network),
        if shape.is_empty() {
            String::new()
        } else {
            format!(" · {}", shape.join(" "))
        }
    );
    for a in &d.attached {
        let dot = match (a.state.as_str(), a.health.as_deref()) {
            (_, Some("unhealthy")) => "bad",
            ("running", Some("starting")) => "warn",
            ("running", _) => "ok",
            ("restarting", _) | ("paused", _) => "warn",
            _ => "bad",
        };
        let what = match &a.resource {
            Some(r) => format!("{} {}", a.kind, r),
            None => a.kind.to_string(),
        };
        let mut details = vec![escape(&what), escape(&a.state)];
        if let Some(h) = &a.health {
            details.push(escape(h));
        }
        if let Some(up) = &a.uptime {
            details.push(format!("up {}", escape(up)));
        }
        if let Some(aliases) = a.aliases.as_ref().filter(|a| !a.is_empty()) {
            details.push(format!(
                "aliases {}",
                aliases
                    .iter()
                    .map(|a| escape(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let _ = writeln!(
            out,
            "<li class=\"box\" data-container=\"{c}\" data-state=\"{st}\"><span class=\"dot {dot}\"></span><span><span class=\"mono\">{c}</span> <small>{d}</small></span></li>",
            c = escape(&a.container),
            st = escape(&a.state),
            d = details.join(" · ")
        );
    }
    for s in &d.services {
        let dot = if s.running >= s.desired { "ok" } else { "warn" };
        let _ = writeln!(
            out,
            "<li class=\"box\" data-service=\"{n}\"><span class=\"dot {dot}\"></span><span><span class=\"mono\">service {n}</span> <small>{k} · {r}/{w} running{u}</small></span></li>",
            n = escape(&s.service),
            k = escape(&s.kind.to_string()),
            r = s.running,
            w = s.desired,
            u = s
                .update
                .as_deref()
                .filter(|u| *u != "completed")
                .map(|u| format!(" · update {}", escape(u)))
                .unwrap_or_default()
        );
    }
    for x in &d.detached {
        let _ = writeln!(
            out,
            "<li class=\"box detached\" data-detached=\"{c}\"><span class=\"dot bad\"></span><span><span class=\"mono\">{c}</span> <small>{k} {r} · {st} · not attached</small></span></li>",
            c = escape(&x.container),
            k = escape(&x.kind.to_string()),
            r = escape(&x.resource),
            st = escape(&x.state)
        );
    }
    if d.attached.is_empty() && d.services.is_empty() && d.detached.is_empty() {
        out.push_str("<li class=\"muted\">nothing attached</li>\n");
    }
    out.push_str("</ul>\n");
    for m in &d.not_found {
        let _ = writeln!(
            out,
            "<div class=\"note bad\"><b>not found:</b> {}</div>",
            escape(&m.describe())
        );
    }
    if d.changes > 0 {
        let _ = writeln!(
            out,
            "<div class=\"muted\" style=\"margin-top:.3rem\">{} change(s) planned</div>",
            d.changes
        );
    }
    out.push_str("</div>\n");
}

/// The changes watch leaves for `berth apply`, with why.
fn held(out: &mut String, board: &WatchBoard) {
    out.push_str("<h2>Not applied by watch</h2>\n");
    if board.held.is_empty() {
        out.push_str("<p class=\"muted\">Nothing: every change the plans make was applied.</p>\n");
        return;
    }
    out.push_str("<table id=\"held\"><tr><th>server</th><th>change</th><th>why</th></tr>\n");
    for h in &board.held {
        let class = if h.change.is_blocked() { "bad" } else { "warn" };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><span class=\"pill {class}\">{}</span> <span class=\"mono\">{}</span></td><td>{}</td></tr>",
            escape(&h.server),
            if h.change.is_blocked() {
                "blocked"
            } else {
                "held"
            },
            escape(&super::describe(&h.change)),
            escape(&h.why)
        );
    }
    out.push_str("</table>\n");
}

fn orphans(out: &mut String, status: &Report) {
    if status.orphans.is_empty() {
        return;
    }
    out.push_str("<h2>Orphan networks</h2>\n<table><tr><th>server</th><th>network</th><th>was destination</th><th>attached</th></tr>\n");
    for o in &status.orphans {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&o.server),
            escape(&o.network),
            escape(o.destination.as_deref().unwrap_or("")),
            o.attached
        );
    }
    out.push_str("</table>\n");
}

/// How many of the recent events the page lists.
const SHOWN_EVENTS: usize = 30;

/// Watch's recent events, newest first, each as its log line says it.
fn events(out: &mut String, board: &WatchBoard) {
    out.push_str("<h2>Recent events</h2>\n");
    if board.events.is_empty() {
        out.push_str("<p class=\"muted\">None yet.</p>\n");
        return;
    }
    out.push_str("<table id=\"events\"><tr><th>time (UTC)</th><th>what</th><th>event</th></tr>\n");
    for (t, e) in board.events.iter().rev().take(SHOWN_EVENTS) {
        let class = match super::watch::level(e) {
            tracing::Level::ERROR => "bad",
            tracing::Level::WARN => "warn",
            _ if matches!(e, WatchEvent::Applied { ok: true, .. }) => "ok",
            _ => "idle",
        };
        let kind = serde_json::to_value(e)
            .ok()
            .and_then(|v| v.get("event").and_then(|k| k.as_str().map(str::to_string)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr data-event=\"{k}\"><td class=\"mono\">{}</td><td>{}</td><td><span class=\"pill {class}\">{k}</span></td></tr>",
            clock(*t),
            escape(&super::watch::text(e)).replace('\n', "<br>"),
            k = escape(&kind)
        );
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_is_escaped() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    /// Names and labels come from config and Docker: a hostile one (a
    /// Coolify label, a container's name in an event) is shown as text.
    #[test]
    fn what_config_and_docker_say_reaches_the_live_page_escaped() {
        use crate::status::{AttachedStatus, DestinationStatus};
        let hostile = "<img src=x onerror=alert(1)>";
        let report = Report {
            format_version: 1,
            servers: Vec::new(),
            destinations: vec![DestinationStatus {
                server: "s1".into(),
                address: "local".into(),
                name: "prod".into(),
                network: "prod-net".into(),
                state: DestinationState::Ok,
                driver: Some("bridge".into()),
                subnet: None,
                gateway: None,
                attached: vec![AttachedStatus {
                    container: "web".into(),
                    kind: crate::plan::AttachedKind::Coolify(hostile.into()),
                    resource: Some(hostile.into()),
                    state: "running".into(),
                    health: Some(hostile.into()),
                    uptime: Some(hostile.into()),
                    aliases: Some(vec![hostile.into()]),
                    usage: None,
                }],
                detached: Vec::new(),
                not_found: Vec::new(),
                unused: false,
                changes: 0,
                usage: None,
                services: Vec::new(),
            }],
            orphans: Vec::new(),
            drift: 0,
            usage_ms: None,
        };
        let board = WatchBoard {
            status: report,
            held: Vec::new(),
            events: vec![(
                SystemTime::UNIX_EPOCH,
                WatchEvent::Docker {
                    server: "s1".into(),
                    kind: "container".into(),
                    action: "start".into(),
                    name: hostile.into(),
                },
            )],
            started: SystemTime::UNIX_EPOCH,
            updated: SystemTime::UNIX_EPOCH,
        };
        let html = Pages.page(&board);
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("<script>"), "the live page has its script");
        assert_eq!(
            Pages.fragment(&board),
            main(&board.status, Some(&board), board.updated)
        );
    }

    #[test]
    fn the_static_page_is_self_contained() {
        let report = Report {
            format_version: 1,
            servers: vec![crate::plan::ServerReading {
                name: "<s1>".into(),
                address: "local".into(),
                status: ServerHealth::Ok,
                error: None,
                swarm: None,
                depends_on: Vec::new(),
            }],
            destinations: Vec::new(),
            orphans: Vec::new(),
            drift: 0,
            usage_ms: None,
        };
        let html = page(&report, SystemTime::UNIX_EPOCH);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("&lt;s1&gt;") && !html.contains("<s1>"));
        assert!(!html.contains("<script"), "a static page runs nothing");
        for external in ["http://", "https://", "src=\"/", "href=\"/"] {
            assert!(!html.contains(external), "{external}");
        }
    }
}
